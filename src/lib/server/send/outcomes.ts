import type { Tx } from '../db/client';
import type { CountDelta, ItemOutcome } from './types';
import { ChannelError, messageKey, type ChannelCapabilities } from '../channels/types';
import { sandboxMessageId, sandboxMessageIdSql } from '../channels/sandbox';
import { bumpCounters } from '../batches/counters';
import { MAX_ATTEMPTS, retryDelayMs } from './pacing';
import { env } from '../env';
import { WORKER_PROCESS_ID } from '../jobs/recovery';

/** First retry back-off (doubles per attempt); SEND_RETRY_BASE_MS shortens it in tests. */
const retryBaseMs = () => env().send.retryBaseMs;

export function sentOutcome(id: number, providerMessageId: string): ItemOutcome {
	return { id, status: 'sent', providerMessageId };
}

export function skippedOutcome(id: number, code: 'contact_deleted' | 'opted_out'): ItemOutcome {
	return {
		id,
		status: 'skipped',
		errorClass: 'permanent',
		code,
		message: code === 'opted_out' ? 'Contact opted out' : 'Contact was deleted'
	};
}

/**
 * What a failed send becomes, decided by the error and the channel's capabilities:
 * - the provider may have the message (ambiguous: a timeout or reset after the request
 *   was written, a 5xx) and the channel cannot dedupe a re-send (Twilio, WhatsApp):
 *   `unknown` at once, never retried by the engine; an operator resends or marks it sent;
 * - the channel's credentials were refused: back to pending whatever its attempts (its
 *   batches are paused, send/guards.ts), so a resume after the fix sends it;
 * - permanent errors and the last allowed attempt fail for good;
 * - the rest (rate limits, a refused connection, and ambiguous outcomes on a channel
 *   that dedupes) go back to pending after a back-off (Retry-After first).
 */
export function errorOutcome(id: number, attempts: number, err: unknown, caps: Pick<ChannelCapabilities, 'idempotentResend'>): ItemOutcome {
	const e = err instanceof ChannelError ? err : new ChannelError('transient', 'internal', (err as Error)?.message ?? String(err));
	const base = { id, errorClass: e.errorClass as string, code: e.code, message: e.message.slice(0, 500), optOut: e.optedOut || undefined };
	if (e.ambiguous && !caps.idempotentResend) return { ...base, errorClass: 'unknown', status: 'unknown' };
	// Auth refusals wait out the back-off too: should the pause fail, the item is not claimed again at once.
	const later = new Date(Date.now() + retryDelayMs(attempts, e.retryAfterMs, Math.random, retryBaseMs()));
	if (e.errorClass === 'auth') return { ...base, status: 'pending', notBefore: later };
	if (e.errorClass === 'permanent' || attempts >= MAX_ATTEMPTS) return { ...base, status: 'failed' };
	return { ...base, status: 'pending', notBefore: later };
}

export function deltaOf(outcomes: ItemOutcome[]): CountDelta {
	const d = { processed: 0, success: 0, failed: 0, skipped: 0, unknown: 0 };
	for (const o of outcomes) {
		if (o.status === 'pending') continue;
		d.processed++;
		if (o.status === 'sent') d.success++;
		else if (o.status === 'skipped') d.skipped++;
		else if (o.status === 'unknown') d.unknown++;
		else d.failed++;
	}
	return d;
}

/**
 * Writes a slice's outcomes and the batch counters in the caller's transaction:
 * one UPDATE … FROM unnest / jsonb_to_recordset for the items (arrays with nulls do
 * not travel well as postgres.js parameters), one UPDATE of the batch row (the counters
 * always agree with the items). `bumpAttempts`: the attempt was not counted at claim.
 *
 * An outcome is written only for an item the caller still holds: claimed items
 * (`bumpAttempts` false) must still be `sending` and claimed by this process (under the
 * same claim, when the outcome names it), items claimed in this same transaction (true)
 * still `pending`. A worker presumed dead (its claims released to another) thus records
 * nothing for items claimed again since, and counts nothing: the counters add up what
 * was written, not what was attempted. An answer for a claim that was released but
 * not claimed again (the item back to pending, or cancelled since) is the truth about
 * that recipient and nobody else's: it is written (a cancelled recipient the provider
 * did get is counted sent, not left as cancelled).
 */
export async function recordOutcomes(tx: Tx, batchId: string, outcomes: ItemOutcome[], bumpAttempts: boolean): Promise<CountDelta> {
	if (outcomes.length === 0) return deltaOf(outcomes);
	const bump = bumpAttempts ? 1 : 0;
	const held = bumpAttempts ? tx`status = 'pending'` : tx`status = 'sending' and claimed_by = ${WORKER_PROCESS_ID}`;
	const heldI = bumpAttempts ? tx`i.status = 'pending'` : tx`i.status = 'sending' and i.claimed_by = ${WORKER_PROCESS_ID}`;
	const plainSent = outcomes.filter((o) => o.claim === undefined && o.status === 'sent' && o.providerMessageId === sandboxMessageId(messageKey(batchId, o.id)));
	const plainSet = new Set(plainSent);
	const rest = plainSent.length === outcomes.length ? [] : outcomes.filter((o) => !plainSet.has(o));
	/** The claim (attempts) of each item written. */
	const written = new Map<number, number>();
	// The batch row before the items, as cancel and the release of dead claims lock them:
	// an answer may now land on an item that is pending again, which cancel also writes.
	if (!bumpAttempts) await tx`select 1 from batch_operations where id = ${batchId} for no key update`;
	if (plainSent.length) {
		// The common case of the sandbox, kept to one id array: the provider id is derived.
		const rows = await tx<{ id: number; attempts: number }[]>`update batch_items set status = 'sent', attempts = attempts + ${bump}, provider_message_id = ${sandboxMessageIdSql(tx)},
			error_class = null, error_code = null, error_message = null, not_before = null, claimed_by = null, claimed_at = null, updated_at = now()
			where id = any(${plainSent.map((o) => o.id)}::bigint[]) and ${held}
			returning id::int as id, attempts`;
		for (const r of rows) written.set(r.id, r.attempts - bump);
	}
	if (rest.length) {
		const rows = await tx<{ id: number; attempts: number }[]>`update batch_items i set status = u.status,
				attempts = i.attempts + case when u.status = 'skipped' then 0 else ${bump}::int end,
				error_class = u.error_class, error_code = u.error_code, error_message = u.error_message,
				provider_message_id = coalesce(u.provider_message_id, i.provider_message_id),
				not_before = u.not_before, claimed_by = null, claimed_at = null, updated_at = now()
			from jsonb_to_recordset(${JSON.stringify(
				rest.map((o) => ({
					id: o.id,
					status: o.status,
					error_class: o.errorClass ?? null,
					error_code: o.code ?? null,
					error_message: o.message ?? null,
					provider_message_id: o.providerMessageId ?? null,
					not_before: o.notBefore ?? null,
					claim: o.claim ?? null
				}))
			)}::jsonb) as u(id bigint, status text, error_class text, error_code text, error_message text,
				provider_message_id text, not_before timestamptz, claim int)
			-- The ids again as an array: the items come by the primary key whatever the statistics.
			-- Joined to the recordset alone, a batch_items never analysed yet (a fresh database's
			-- first big send) got a nested loop that parsed the JSON again for every item: 500
			-- outcomes took hundreds of ms, the lanes' flushes queued behind the batch row, and
			-- bench:providers sent at 0.42-0.67 of the cap until autovacuum analysed the table.
			where i.id = any(${rest.map((o) => o.id)}::bigint[]) and i.id = u.id and (u.claim is null or i.attempts = u.claim)
				and (${heldI} or (${!bumpAttempts} and u.claim is not null and i.claimed_by is null and i.status in ('pending', 'cancelled')))
			returning i.id::int as id, i.attempts`;
		for (const r of rows) written.set(r.id, r.attempts - bump);
	}
	// One outcome counted per item written: the one of the claim that was written.
	const recorded: ItemOutcome[] = [];
	for (const o of outcomes) {
		const claim = written.get(o.id);
		if (claim === undefined || (o.claim !== undefined && o.claim !== claim)) continue;
		written.delete(o.id);
		recorded.push(o);
	}
	const optOuts = recorded.filter((o) => o.optOut).map((o) => o.id);
	if (optOuts.length) {
		// The provider refuses this recipient for good (they unsubscribed): later batches skip them.
		await tx`
			update contacts c
			set opted_out_at = now(), updated_at = now()
			from batch_items i
			where i.id = any(${optOuts}::bigint[])
				and c.id = i.contact_id
				and c.opted_out_at is null`;
	}
	const d = deltaOf(recorded);
	if (d.processed) await bumpCounters(tx, batchId, d);
	return d;
}
