import type { Executor } from '../db/client';

/**
 * Changes to a batch's counters. processed = success + failed + skipped + unknown
 * always holds when callers pass a processed that is the sum of the others (unknown:
 * a send whose outcome nobody knows). Negative values undo (retry-failed hands items
 * back to pending).
 */
export type CounterDelta = { processed?: number; success?: number; failed?: number; skipped?: number; unknown?: number };

/**
 * The counter arithmetic, written here only: the SET items of an UPDATE of
 * batch_operations that add `d` to the row's counters and touch updated_at. Every
 * counter moves in the one UPDATE, so a batch row takes one new version, not four,
 * and readers never see processed changed without the counter it is the sum of.
 * bumpCounters runs it on its own; a statement that must change the batch row in the
 * same UPDATE as other writes (the sandbox slice, the paced fast path) embeds it.
 */
export function counterAssignments(ex: Executor, d: CounterDelta) {
	return ex`
		processed_count = processed_count + ${d.processed ?? 0}::int,
		success_count = success_count + ${d.success ?? 0}::int,
		failed_count = failed_count + ${d.failed ?? 0}::int,
		skipped_count = skipped_count + ${d.skipped ?? 0}::int,
		unknown_count = unknown_count + ${d.unknown ?? 0}::int,
		updated_at = now()`;
}

/**
 * Adds `d` to the batch row's counters in the caller's transaction, so the counters
 * move in the same commit as the ledger rows they count.
 */
export async function bumpCounters(ex: Executor, batchId: string, d: CounterDelta): Promise<void> {
	await ex`
		update batch_operations
		set ${counterAssignments(ex, d)}
		where id = ${batchId}`;
}
