import { operatorProcedure } from '../../init';
import { batchIdInput } from '../../../../schemas/send';
import { cancelBatch, markUnknownSent, pauseBatch, resendUnknown, resumeBatch, retryFailed } from '../../../batches/control';
import { toStatusDto } from '../../../batches/repository';

/** Operator actions on any batch type, each one transition of the one table. */
export const batchControlProcedures = {
	cancel: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => toStatusDto(await cancelBatch(input.batchId, ctx))),
	pause: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => toStatusDto(await pauseBatch(input.batchId, ctx))),
	resume: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => toStatusDto(await resumeBatch(input.batchId, ctx))),
	retryFailed: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => {
		const { batch, retried } = await retryFailed(input.batchId, ctx);
		return { ...toStatusDto(batch), retried };
	}),
	/** Sends the items whose outcome is unknown again: their recipients may get the message twice. */
	resendUnknown: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => {
		const { batch, resent } = await resendUnknown(input.batchId, ctx);
		return { ...toStatusDto(batch), resent };
	}),
	/** Counts the items whose outcome is unknown as sent (the provider's logs say they went). */
	markUnknownSent: operatorProcedure.input(batchIdInput).mutation(async ({ input, ctx }) => {
		const { batch, marked } = await markUnknownSent(input.batchId, ctx);
		return { ...toStatusDto(batch), marked };
	})
};
