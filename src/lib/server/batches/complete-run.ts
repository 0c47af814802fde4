import { transaction } from '../db/client';
import { findBatch, transitionBatch } from './repository';

/**
 * How a run that has done all its work ends: COMPLETED, or — when a pause (or cancel)
 * committed after its last chunk, so the transition from PROCESSING matches nothing —
 * 'paused' for a batch that is PAUSED, or PROCESSING again (resumed before this read),
 * and 'stopped' for any other. A 'paused' run must be looked at again by its task (the
 * recheck completes it once resumed: its run skips every committed chunk). Answering
 * 'completed' without completing left a resumed batch PROCESSING with no job (the CI hang
 * of "a paused import resumes…"); imports, bulk changes and undos all end here.
 * totalFromProcessed: the final total is what was processed (an import's record count
 * held blank rows; a filter's count was taken at the start), set in the same transaction.
 */
export async function completeRun(
	batchId: string,
	opts: { totalFromProcessed?: boolean } = {}
): Promise<'completed' | 'paused' | 'stopped'> {
	const ended = await transaction(async (tx) => {
		if (opts.totalFromProcessed) {
			await tx`
				update batch_operations
				set total_count = processed_count
				where id = ${batchId}
					and status = 'PROCESSING'`;
		}
		return transitionBatch(batchId, 'COMPLETED', { from: ['PROCESSING'], tx });
	});
	return ended ? 'completed' : stoppedAs(batchId);
}

/**
 * How a run that found its batch no longer PROCESSING stopped: 'paused' for a batch that
 * is PAUSED, or PROCESSING again (resumed between the stop and this read: its task must
 * look again, or it stays PROCESSING with no job), else 'stopped' (cancelled, failed).
 */
export async function stoppedAs(batchId: string): Promise<'paused' | 'stopped'> {
	const now = (await findBatch(batchId))?.status;
	return now === 'PAUSED' || now === 'PROCESSING' ? 'paused' : 'stopped';
}
