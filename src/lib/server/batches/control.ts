import { sql, transaction, type Executor, type Fragment } from '../db/client';
import { DomainError } from '../errors';
import type { BatchStatus } from '../db/schema';
import { getBatchOrThrow, transitionBatch, type BatchRow } from './repository';
import { bumpCounters } from './counters';
import { RETRYABLE_CLASSES } from './items';
import { enqueueSlice } from '../send/jobs';
import { publishBatchUpdate } from '../events/publish';
import { audit, type AuditAction, type AuditCtx } from '../audit/record';

/**
 * Operator actions on a running batch, for every batch type. Each locks the batch
 * row FOR UPDATE first: a send slice holds the row FOR KEY SHARE while it sends, so
 * the action waits for it, and every slice that starts afterwards sees the new status.
 */
async function lockBatch(tx: Executor, batchId: string): Promise<BatchRow> {
	const current = await getBatchOrThrow(batchId, tx);
	await tx`
		select 1
		from batch_operations
		where id = ${batchId}
		for update`;
	return current;
}

/**
 * The transition an operator asked for, recorded in the audit log (`action`, from → to)
 * in the same transaction.
 */
async function lockedTransition(
	tx: Executor,
	batchId: string,
	to: BatchStatus,
	by: AuditCtx | undefined,
	action: AuditAction,
	opts: { error?: string | null } = {}
): Promise<BatchRow> {
	const current = await lockBatch(tx, batchId);
	const row = await transitionBatch(batchId, to, { tx, ...opts });
	if (row) {
		await audit(tx, by, action, { type: 'batch', id: batchId }, { batchType: row.type, from: current.status, to });
		return row;
	}
	const now = await getBatchOrThrow(batchId, tx);
	throw new DomainError('PRECONDITION_FAILED', `Batch ${batchId} is ${now.status ?? current.status}; it cannot become ${to}.`, 'batchId');
}

/** PENDING (scheduled too), PROCESSING or PAUSED → CANCELLED; pending ledger items become cancelled. */
export async function cancelBatch(batchId: string, by?: AuditCtx): Promise<BatchRow> {
	return transaction(async (tx) => {
		const row = await lockedTransition(tx, batchId, 'CANCELLED', by, 'batch.cancel');
		await tx`
			update batch_items
			set status = 'cancelled', not_before = null, updated_at = now()
			where batch_id = ${batchId}
				and status = 'pending'`;
		return row;
	});
}

/** PROCESSING → PAUSED: slices stop before their next send; items stay pending. */
export async function pauseBatch(batchId: string, by?: AuditCtx): Promise<BatchRow> {
	return transaction((tx) => lockedTransition(tx, batchId, 'PAUSED', by, 'batch.pause'));
}

/**
 * PAUSED → PROCESSING: only pending items are sent, so nobody gets a message twice.
 * The reason of a pause (the breaker's, an auth error's) is cleared, and the breaker
 * forgets the sends before the resume: otherwise the refusals that tripped it would
 * trip it again at the first refusal after the resume.
 */
export async function resumeBatch(batchId: string, by?: AuditCtx): Promise<BatchRow> {
	return transaction(async (tx) => {
		const row = await lockedTransition(tx, batchId, 'PROCESSING', by, 'batch.resume', { error: null });
		if (row.type === 'SEND') {
			await resetBreakerWindow(tx, batchId);
			await enqueueSlice(row, { spawn: true }, tx);
		}
		return row;
	});
}

/** The breaker judges only outcomes recorded from now on (send/guards.ts). */
async function resetBreakerWindow(tx: Executor, batchId: string) {
	await tx`
		update batch_operations
		set breaker_from = now()
		where id = ${batchId}`;
}

/**
 * PROCESSING → PAUSED with the reason in the batch's error, by the engine itself (the
 * circuit breaker). Locks like an operator's pause, so every slice that claims after
 * it sees PAUSED. Returns null when the batch was no longer PROCESSING.
 */
export async function pauseWithReason(batchId: string, reason: string): Promise<BatchRow | null> {
	return transaction(async (tx) => {
		await lockBatch(tx, batchId);
		return transitionBatch(batchId, 'PAUSED', { from: ['PROCESSING'], error: reason, tx });
	});
}

/**
 * Pauses every running send batch of a channel with the reason (the provider refused
 * the channel's credentials: every other send on it would be refused too). Rows are
 * locked in id order, so two slices hitting the same refusal do not deadlock; the
 * second finds nothing left to pause. Returns the ids paused.
 */
export async function pauseChannelBatches(channelId: string, reason: string): Promise<string[]> {
	return transaction(async (tx) => {
		const rows = await tx<{ id: string }[]>`
			select id
			from batch_operations
			where status = 'PROCESSING'
				and type = 'SEND'
				and channel_id = ${channelId}
			order by id
			for update`;
		const paused: string[] = [];
		for (const r of rows) {
			if (await transitionBatch(r.id, 'PAUSED', { from: ['PROCESSING'], error: reason, tx })) paused.push(r.id);
		}
		return paused;
	});
}

/** Error classes worth another attempt; permanent failures (bad number, rejected) are not. */
const RETRYABLE = RETRYABLE_CLASSES;

/**
 * New attempts for the items that failed with a retryable error. A COMPLETED send
 * re-opens (COMPLETED → PROCESSING is in the transition table for this alone).
 * Items whose outcome is `unknown` are never re-sent silently.
 */
export async function retryFailed(batchId: string, by?: AuditCtx): Promise<{ batch: BatchRow; retried: number }> {
	const { batch, n } = await sendAgain(batchId, 'failed', sql()`error_class = any(${RETRYABLE}::text[])`, {
		none: 'No failed items with a retryable error.',
		refused: 'its failed items cannot be retried'
	}, by, 'batch.retryFailed');
	return { batch, retried: n };
}

/**
 * An operator's explicit "send them again" for the items whose outcome is unknown:
 * they go back to pending (the provider may already have delivered them, so a
 * recipient may get the message twice; the UI says so before calling this). Counters
 * are undone, and the batch re-opens as for retryFailed.
 */
export async function resendUnknown(batchId: string, by?: AuditCtx): Promise<{ batch: BatchRow; resent: number }> {
	const { batch, n } = await sendAgain(batchId, 'unknown', sql()`true`, {
		none: 'No items with an unknown outcome.',
		refused: 'its unknown items cannot be sent again'
	}, by, 'batch.resendUnknown');
	return { batch, resent: n };
}

/**
 * Hands a SEND batch's items in `status` (and matching `also`) back to pending as new
 * (no attempts, no error), undoes their counts and re-opens the batch, in one
 * transaction: refused as a whole when there are none or the batch cannot re-open.
 */
async function sendAgain(
	batchId: string,
	status: 'failed' | 'unknown',
	also: Fragment,
	say: { none: string; refused: string },
	by: AuditCtx | undefined,
	action: AuditAction
): Promise<{ batch: BatchRow; n: number }> {
	return transaction(async (tx) => {
		const batch = await lockBatch(tx, batchId);
		if (batch.type !== 'SEND') throw new DomainError('PRECONDITION_FAILED', 'Only send batches can send items again.', 'batchId');
		const [r] = await tx<{ n: number }[]>`
			with upd as (
				update batch_items
				set status = 'pending', attempts = 0, not_before = null, error_class = null, error_code = null,
					error_message = null, updated_at = now()
				where batch_id = ${batchId}
					and status = ${status}
					and ${also}
				returning id
			)
			select count(*)::int as n from upd`;
		if (r.n === 0) throw new DomainError('PRECONDITION_FAILED', say.none, 'batchId');
		await bumpCounters(tx, batchId, { processed: -r.n, [status]: -r.n });
		const reopened = await reopen(tx, batch, say.refused);
		await audit(tx, by, action, { type: 'batch', id: batchId }, { items: r.n, from: batch.status, to: reopened.status });
		return { batch: reopened, n: r.n };
	});
}

/**
 * Items handed back to pending: a COMPLETED send re-opens, a running one gets its
 * lanes again, a PAUSED one waits for its resume; any other status refuses (the caller's
 * transaction then rolls its item changes back).
 */
async function reopen(tx: Executor, batch: BatchRow, refused: string): Promise<BatchRow> {
	let row: BatchRow | null = await getBatchOrThrow(batch.id, tx);
	if (row.status === 'COMPLETED') row = await transitionBatch(batch.id, 'PROCESSING', { from: ['COMPLETED'], tx });
	if (!row || !['PROCESSING', 'PAUSED'].includes(row.status)) {
		throw new DomainError('PRECONDITION_FAILED', `Batch ${batch.id} is ${batch.status}; ${refused}.`, 'batchId');
	}
	if (row.status === 'PROCESSING') await enqueueSlice(row, { spawn: true }, tx);
	await publishBatchUpdate(batch.id, { tx });
	return row;
}

/**
 * An operator's "the provider has them": the items whose outcome is unknown count as
 * sent (success), in any batch status. Their error code stays, and the message says
 * an operator decided, so the ledger still shows what happened.
 */
export async function markUnknownSent(batchId: string, by?: AuditCtx): Promise<{ batch: BatchRow; marked: number }> {
	return transaction(async (tx) => {
		const batch = await lockBatch(tx, batchId);
		if (batch.type !== 'SEND') throw new DomainError('PRECONDITION_FAILED', 'Only send batches have items with an unknown outcome.', 'batchId');
		const [r] = await tx<{ n: number }[]>`
			with upd as (
				update batch_items
				set status = 'sent', error_class = null,
					error_message = left('Marked as sent by an operator; the outcome was unknown: ' || coalesce(error_message, ''), 500),
					updated_at = now()
				where batch_id = ${batchId}
					and status = 'unknown'
				returning id
			)
			select count(*)::int as n from upd`;
		if (r.n === 0) throw new DomainError('PRECONDITION_FAILED', 'No items with an unknown outcome.', 'batchId');
		await bumpCounters(tx, batchId, { unknown: -r.n, success: r.n });
		await audit(tx, by, 'batch.markUnknownSent', { type: 'batch', id: batchId }, { items: r.n });
		await publishBatchUpdate(batchId, { tx });
		return { batch: await getBatchOrThrow(batchId, tx), marked: r.n };
	});
}
