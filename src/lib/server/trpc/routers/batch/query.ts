import { z } from 'zod';
import { authedProcedure } from '../../init';
import { getBatchOrThrow, resolveBatchId, toBatchDto, toStatusDto } from '../../../batches/repository';
import { itemSummary, quietWaitingOf } from '../../../batches/items';

/** The full id, or the first characters the pages show (resolved by prefix; ambiguous: a clear error). */
const batchRef = z.object({ batchId: z.string().trim().min(1, 'batchId is required').max(36, 'batchId is at most 36 characters') });

export const batchQueryProcedures = {
	status: authedProcedure.input(batchRef).query(async ({ input }) => {
		const batch = await getBatchOrThrow(await resolveBatchId(input.batchId));
		return { ...toStatusDto(batch), quietWaiting: await quietWaitingOf(batch) };
	}),
	get: authedProcedure.input(batchRef).query(async ({ input, ctx }) => {
		const batch = await getBatchOrThrow(await resolveBatchId(input.batchId));
		const [summary, quietWaiting] = await Promise.all([itemSummary(batch), quietWaitingOf(batch)]);
		// Providers' answers (the error samples) are for the people who run sends, not viewers.
		// A copy: the summary is cached and shared with other callers for a moment.
		const items =
			ctx.user.role === 'viewer' ? { ...summary, topErrors: summary.topErrors.map((e) => ({ ...e, sample: null })) } : summary;
		return { ...toBatchDto(batch), items, quietWaiting };
	}),
	/** { id } of the batch a short id (a prefix) names, for pages and filters where people type ids. */
	resolve: authedProcedure.input(batchRef).query(async ({ input }) => ({ id: await resolveBatchId(input.batchId) }))
};
