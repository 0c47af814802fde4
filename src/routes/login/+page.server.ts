import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

// Someone already signed in has nothing to do here: send them on.
export const load: PageServerLoad = ({ locals, url }) => {
	if (!locals.user) return;
	const next = url.searchParams.get('next');
	redirect(303, next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
};
