import { authedProcedure, operatorProcedure } from '../../init';
import { batchIdInput, itemListInput, precheckInput, sendInput } from '../../../../schemas/send';
import { createSendBatch } from '../../../send/create';
import { precheckSend } from '../../../send/precheck';
import { listItems, sendRate } from '../../../send/items';
import { toStatusDto, getBatchOrThrow } from '../../../batches/repository';

export const batchSendProcedures = {
	/** SEND batch (SPEC §4): the batch, its ledger and first job in one transaction. */
	send: operatorProcedure.input(sendInput).mutation(async ({ input, ctx }) => {
		const { batch, deduplicated } = await createSendBatch(input, ctx.user.id, ctx);
		return { ...toStatusDto(batch), deduplicated };
	}),
	/**
	 * What batch.send would do with the same input (audience, missing variables, samples,
	 * parts, duration); writes nothing. A mutation only for transport, as targetCount: as a
	 * query, 100 000 contact ids would not fit in a URL.
	 */
	precheck: operatorProcedure.input(precheckInput).mutation(({ input }) => precheckSend(input)),
	/** A page of a batch's per-target ledger, filterable by status and error. */
	items: authedProcedure.input(itemListInput).query(async ({ input, ctx }) => {
		const page = await listItems(input);
		// Providers' answers (error bodies) are for the people who run sends, not viewers.
		return ctx.user.role === 'viewer' ? { ...page, items: page.items.map((i) => ({ ...i, errorMessage: null })) } : page;
	}),
	/** Recent sends per second and the ETA at that pace. */
	rate: authedProcedure.input(batchIdInput).query(async ({ input }) => {
		await getBatchOrThrow(input.batchId);
		return sendRate(input.batchId);
	})
};
