import { failBulkBatch, recheckPausedLater, runBulkBatch } from '../../src/lib/server/bulk/run';
import type { TaskHandler } from '../task';

/**
 * Runs a TAG or DELETE batch (all its chunks; each chunk commits on its own, so a
 * retry resumes after the last one). On the last attempt an error fails the batch.
 * A paused batch is looked at again a little later until it is resumed or cancelled.
 */
export const bulkRun: TaskHandler<'bulk:run'> = async ({ batchId }, helpers) => {
	try {
		const outcome = await runBulkBatch(batchId);
		if (outcome === 'paused') await recheckPausedLater(batchId);
		helpers.logger.info(`bulk ${batchId}: ${outcome}`);
	} catch (e) {
		if (helpers.job.attempts >= helpers.job.max_attempts) {
			await failBulkBatch(batchId, e instanceof Error ? e.message : String(e));
			return;
		}
		throw e;
	}
};
