import { error, redirect } from '@sveltejs/kit';
import { DomainError, httpStatus } from '$lib/server/errors';
import { resolveBatchId } from '$lib/server/batches/repository';
import type { PageServerLoad } from './$types';

/** `/batches/95ff6fd0` (the 8 characters shown everywhere) goes to the batch whose id starts so. */
export const load: PageServerLoad = async ({ params }) => {
	let id: string;
	try {
		id = await resolveBatchId(params.id);
	} catch (e) {
		if (e instanceof DomainError) error(httpStatus(e.code), e.message);
		throw e;
	}
	if (id !== params.id) redirect(307, `/batches/${id}`);
	return { batchId: id };
};
