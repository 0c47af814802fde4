import { operatorProcedure } from '../../init';
import { batchIdInput } from '../../../../schemas/send';
import { cancelBatch, pauseBatch, resumeBatch, retryFailed } from '../../../batches/control';
import { toStatusDto } from '../../../batches/repository';

/** Operator actions on any batch type, each one transition of the one table. */
export const batchControlProcedures = {
	cancel: operatorProcedure.input(batchIdInput).mutation(async ({ input }) => toStatusDto(await cancelBatch(input.batchId))),
	pause: operatorProcedure.input(batchIdInput).mutation(async ({ input }) => toStatusDto(await pauseBatch(input.batchId))),
	resume: operatorProcedure.input(batchIdInput).mutation(async ({ input }) => toStatusDto(await resumeBatch(input.batchId))),
	retryFailed: operatorProcedure.input(batchIdInput).mutation(async ({ input }) => {
		const { batch, retried } = await retryFailed(input.batchId);
		return { ...toStatusDto(batch), retried };
	})
};
