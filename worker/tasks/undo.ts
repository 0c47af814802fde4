import { failUndoBatch, recheckPausedUndoLater, runUndoBatch } from '../../src/lib/server/undo/run';
import type { TaskSpec } from '../task';

/**
 * Runs an UNDO batch (all its chunks; each commits on its own, so a retry resumes after
 * the last one). A paused undo is looked at again later until resumed or cancelled.
 */
export const undoRun: TaskSpec<'undo:run'> = {
	async run({ batchId }, helpers) {
		const outcome = await runUndoBatch(batchId);
		if (outcome === 'paused') await recheckPausedUndoLater(batchId);
		helpers.logger.info(`undo ${batchId}: ${outcome}`);
	},
	onFinalFailure: failUndoBatch
};
