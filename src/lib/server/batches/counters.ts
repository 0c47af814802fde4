import type { Executor } from '../db/client';

/**
 * Changes to a batch's counters. processed = success + failed + skipped always holds
 * when callers pass a processed that is the sum of the others (an unknown send outcome
 * counts as failed: not delivered as far as anyone knows). Negative values undo
 * (retry-failed hands items back to pending).
 */
export type CounterDelta = { processed?: number; success?: number; failed?: number; skipped?: number };

/**
 * Adds `d` to the batch row's counters in the caller's transaction, so the counters
 * move in the same commit as the ledger rows they count. One statement for every
 * counter, whichever of them changed: a batch row takes one new version, not four.
 */
export async function bumpCounters(ex: Executor, batchId: string, d: CounterDelta): Promise<void> {
	await ex`
		update batch_operations set
			processed_count = processed_count + ${d.processed ?? 0}::int,
			success_count = success_count + ${d.success ?? 0}::int,
			failed_count = failed_count + ${d.failed ?? 0}::int,
			skipped_count = skipped_count + ${d.skipped ?? 0}::int,
			updated_at = now()
		where id = ${batchId}`;
}
