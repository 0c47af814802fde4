import type { PageServerLoad } from './$types';
import { publicOrigin } from '$lib/server/receipts/url';

// Where providers send receipts, so the page can show the URL to register, or why there is none.
export const load: PageServerLoad = () => ({ receiptsOrigin: publicOrigin() ?? null });
