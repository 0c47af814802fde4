import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { safeNext } from './safe-next';

// Someone already signed in has nothing to do here: send them on, within this site only.
export const load: PageServerLoad = ({ locals, url }) => {
	if (!locals.user) return;
	redirect(303, safeNext(url.searchParams.get('next'), url.origin));
};
