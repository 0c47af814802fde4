import { z } from 'zod';
import { authedProcedure, operatorProcedure } from '../../init';
import { targets } from '../../../../schemas/targets';
import { countTargets } from '../../../bulk/targets';
import { bulkDeleteInput, bulkTagsInput } from '../../../../schemas/bulk';
import { createDeleteBatch, createTagBatch } from '../../../bulk/create';
import { targetPhones } from '../../../batches/target-sample';

export const batchBulkProcedures = {
	/** { count } of existing contacts a target selects, for the confirmation dialog.
	 * A mutation only for transport: as a query, 100 000 ids would not fit in a URL. */
	targetCount: authedProcedure
		.input(z.object(targets))
		.mutation(async ({ input }) => ({ count: await countTargets(input) })),
	/** { count, contacts: the first 10 with their phones } of an id list: forms show phones, not ids. */
	targetPhones: authedProcedure
		.input(z.object({ contactIds: targets.contactIds.unwrap() }))
		.mutation(({ input }) => targetPhones(input.contactIds)),
	/** TAG batch: add | remove | set tags on contactIds or a filter. Returns the batch. */
	tags: operatorProcedure.input(bulkTagsInput).mutation(({ input, ctx }) => createTagBatch(input, ctx.user.id, ctx)),
	/** DELETE batch on contactIds or a filter; deleted rows are archived for a restore. */
	delete: operatorProcedure.input(bulkDeleteInput).mutation(({ input, ctx }) => createDeleteBatch(input, ctx.user.id, ctx))
};
