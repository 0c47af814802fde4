/**
 * What kinds of batches there are and the statuses a batch and its items go through:
 * the one list of each, for the zod schemas, the pages and db/schema.ts (which
 * re-exports them). Browser-safe: no imports.
 */

export const BATCH_TYPES = ['IMPORT', 'SEND', 'TAG', 'DELETE', 'UNDO'] as const;
export type BatchType = (typeof BATCH_TYPES)[number];

export const BATCH_STATUSES = ['PENDING', 'PROCESSING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** A batch in one of these has ended: nothing moves it on its own any more. */
export const TERMINAL_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const satisfies readonly BatchStatus[];

export function isTerminalStatus(status: string): boolean {
	return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** A batch state as far as ordering goes: its status and when it was written. */
type Stamped = { status: string; updatedAt?: Date | string | null };
const stampMs = (s: Stamped) => (s.updatedAt ? new Date(s.updatedAt).getTime() : undefined);

/** When an ended state was written (ms), to hold `isStaleAfterEnd` against; undefined for a running one. */
export function endedAtMs(s: Stamped | null | undefined): number | undefined {
	return s && isTerminalStatus(s.status) ? stampMs(s) : undefined;
}

/**
 * True for a running state older than the ended one already shown (endedMs): a live event
 * delivered after a fresher one (a chunk's progress after the batch's COMPLETED, seen with
 * two web processes and after a resend) would put back a status the batch has left, for
 * good as no event follows. A re-open (a retry) is newer and passes. Only against an ended
 * state: updated_at is a transaction's start, not its commit order. The live stream
 * (events/live.ts) and the console's page (live-batch.svelte.ts) both hold to it.
 */
export function isStaleAfterEnd(endedMs: number | undefined, next: Stamped): boolean {
	const at = stampMs(next);
	return endedMs !== undefined && at !== undefined && !isTerminalStatus(next.status) && at < endedMs;
}

/** The statuses of one target (a recipient, a contact) in a batch's ledger. */
export const ITEM_STATUSES = ['pending', 'sending', 'sent', 'done', 'failed', 'skipped', 'cancelled', 'unknown'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/**
 * How an ended batch went, beyond its status: COMPLETED says only that nothing is left
 * to do. `failed`: nothing succeeded and something failed (a send where every attempt
 * failed: shown red with a banner, counted apart in stats); `partial`: some of each;
 * `ok`: no failure. A send's unknown outcomes count as failures here (not sent for sure).
 * Null for a batch that has not completed (FAILED and CANCELLED say it themselves).
 */
export type BatchOutcome = 'ok' | 'partial' | 'failed';
export function outcomeOf(b: {
	status: string;
	type: string;
	successCount: number;
	failedCount: number;
	unknownCount?: number;
}): BatchOutcome | null {
	if (b.status !== 'COMPLETED') return null;
	const bad = b.failedCount + (b.type === 'SEND' ? (b.unknownCount ?? 0) : 0);
	if (bad === 0) return 'ok';
	return b.successCount === 0 ? 'failed' : 'partial';
}
