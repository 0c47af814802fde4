import { z } from 'zod';
import { authedProcedure } from '../../init';
import { getBatchOrThrow, toBatchDto, toStatusDto } from '../../../batches/repository';
import { itemSummary } from '../../../batches/items';

const batchId = z.object({ batchId: z.string().uuid('batchId must be a batch id (UUID)') });

export const batchQueryProcedures = {
	status: authedProcedure.input(batchId).query(async ({ input }) => toStatusDto(await getBatchOrThrow(input.batchId))),
	get: authedProcedure.input(batchId).query(async ({ input, ctx }) => {
		const batch = await getBatchOrThrow(input.batchId);
		const items = await itemSummary(batch);
		// Providers' answers (the error samples) are for the people who run sends, not viewers.
		if (ctx.user.role === 'viewer') items.topErrors = items.topErrors.map((e) => ({ ...e, sample: null }));
		return { ...toBatchDto(batch), items };
	})
};
