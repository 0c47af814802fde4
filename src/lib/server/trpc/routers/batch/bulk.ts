import { operatorProcedure } from '../../init';
import { bulkDeleteInput, bulkTagsInput } from '../../../../schemas/bulk';
import { createDeleteBatch, createTagBatch } from '../../../bulk/create';

export const batchBulkProcedures = {
	/** TAG batch: add | remove | set tags on contactIds or a filter. Returns the batch. */
	tags: operatorProcedure.input(bulkTagsInput).mutation(({ input, ctx }) => createTagBatch(input, ctx.user.id)),
	/** DELETE batch on contactIds or a filter; deleted rows are archived for a restore. */
	delete: operatorProcedure.input(bulkDeleteInput).mutation(({ input, ctx }) => createDeleteBatch(input, ctx.user.id))
};
