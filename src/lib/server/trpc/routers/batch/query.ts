import { z } from 'zod';
import { authedProcedure } from '../../init';
import { getBatchOrThrow, toBatchDto, toStatusDto } from '../../../batches/repository';
import { itemSummary } from '../../../batches/items';

const batchId = z.object({ batchId: z.string().uuid('batchId must be a batch id (UUID)') });

export const batchQueryProcedures = {
	status: authedProcedure.input(batchId).query(async ({ input }) => toStatusDto(await getBatchOrThrow(input.batchId))),
	get: authedProcedure.input(batchId).query(async ({ input }) => {
		const batch = await getBatchOrThrow(input.batchId);
		return { ...toBatchDto(batch), items: await itemSummary(batch) };
	})
};
