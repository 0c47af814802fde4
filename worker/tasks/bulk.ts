import { failBulkBatch, recheckPausedLater, runBulkBatch } from '../../src/lib/server/bulk/run';
import type { TaskSpec } from '../task';

/**
 * Runs a TAG or DELETE batch (all its chunks; each chunk commits on its own, so a
 * retry resumes after the last one). A paused batch is looked at again a little
 * later until it is resumed or cancelled. Giving up fails the batch (worker/task.ts).
 */
export const bulkRun: TaskSpec<'bulk:run'> = {
	async run({ batchId }, helpers) {
		const outcome = await runBulkBatch(batchId);
		if (outcome === 'paused') await recheckPausedLater(batchId);
		helpers.logger.info(`bulk ${batchId}: ${outcome}`);
	},
	onFinalFailure: failBulkBatch
};
