import type postgres from 'postgres';
import type { Tx } from '../db/client';
import type { DeadReleaser } from '../jobs/recovery';
import { publishBatchUpdate } from '../events/publish';
import { kindsWith } from '../channels/registry';
import { bumpCounters } from '../batches/counters';
import { enqueueSlice } from './jobs';

/**
 * Settles items left in `sending` whose outcome nobody recorded, those of batch_items
 * `i` that `which` selects. Whether a message may go out again is the channel's
 * capability idempotentResend: then a re-send cannot deliver twice, so the item goes
 * back to pending. Otherwise nobody knows whether the provider got it: it becomes
 * `unknown` with `why`, counted as processed and unknown, and is never re-sent silently.
 *
 * In a batch already cancelled (or failed) nothing would send a pending item again, and
 * the provider may have it: such an item is `unknown` whatever the channel.
 *
 * One statement decides for items of any number of batches (a dead worker's), so it
 * decides per item by its batch's channel kind: the kinds that may re-send are taken
 * from the capability table (channels/registry.ts) and passed as an array, rather
 * than one statement per channel. A channel deleted meanwhile has no kind and may not
 * re-send. Returns the batches touched.
 */
export async function settleUnrecorded(tx: Tx, which: postgres.Fragment, why: { code: string; message: string }): Promise<string[]> {
	// Locks in the order every writer of outcomes takes them (recordOutcomes, cancel):
	// the batch rows first, then the items; an item another transaction is writing (its
	// outcome being recorded) is skipped: that writer settles it.
	await tx`
		select b.id from batch_operations b
		where b.id in (select i.batch_id from batch_items i where i.status = 'sending' and ${which})
		order by b.id
		for no key update`;
	const rows = await tx<{ batch_id: string; unknown: number }[]>`
		with settled as (
			update batch_items i set
				status = case when r.resend then 'pending' else 'unknown' end,
				error_class = case when r.resend then i.error_class else 'unknown' end,
				error_code = case when r.resend then i.error_code else ${why.code} end,
				error_message = case when r.resend then i.error_message else ${why.message} end,
				claimed_by = null,
				claimed_at = null,
				updated_at = now()
			from (
				select b.id, coalesce(ch.kind = any(${kindsWith('idempotentResend')}::text[]), false) and b.status not in ('CANCELLED', 'FAILED') as resend
				from batch_operations b
				left join channels ch on ch.id = b.channel_id
			) r
			where r.id = i.batch_id
				and i.id in (select i.id from batch_items i where i.status = 'sending' and ${which} for update skip locked)
			returning i.batch_id, i.status)
		select batch_id, count(*) filter (where status = 'unknown')::int as unknown
		from settled
		group by batch_id`;
	for (const r of rows) {
		if (r.unknown > 0) await bumpCounters(tx, r.batch_id, { processed: r.unknown, unknown: r.unknown });
	}
	return rows.map((r) => r.batch_id);
}

/**
 * Items dead worker processes had in flight (`sending`, claimed by them) are settled as
 * above, in the caller's transaction (the one that forgets those processes, see
 * jobs/recovery.ts), and each batch still running gets a slice job again in it too.
 * Returns the live updates to publish once that commits.
 */
export const releaseDeadClaims: DeadReleaser = async (tx, deadProcessIds) => {
	if (deadProcessIds.length === 0) return;
	const ids = await settleUnrecorded(tx, tx`i.claimed_by = any(${deadProcessIds}::text[])`, {
		code: 'worker_died',
		message: 'The worker died during the send: the provider may or may not have it'
	});
	return resumeBatches(tx, ids);
};

/**
 * Items of `claimedBy` whose answer came but could not be written (only those it still
 * holds), settled as above. Returns the batches touched.
 */
export function settleOwnUnrecorded(tx: Tx, claimedBy: string, itemIds: number[]): Promise<string[]> {
	return settleUnrecorded(tx, tx`i.id = any(${itemIds}::bigint[]) and i.claimed_by = ${claimedBy}`, {
		code: 'outcome_not_recorded',
		message: 'The outcome of the send could not be recorded: the provider may or may not have it'
	});
}

/**
 * Claims of this process that no lane of it holds, older than `minAgeSeconds` and in
 * batches it is not claiming for right now (`busyBatchIds`): their claim committed but
 * its answer never came back (the connection lost between commit and reply), so no
 * message went out for them. They go back to pending whatever the channel, with the
 * attempt not counted (cancelled in a batch that was cancelled or failed meanwhile),
 * and running batches get a slice job. Returns the live updates to publish after commit.
 */
export async function releaseLostClaims(
	tx: Tx,
	claimedBy: string,
	held: { itemIds: number[]; busyBatchIds: string[] },
	minAgeSeconds: number
): Promise<(() => Promise<void>) | void> {
	const lost = tx`i.status = 'sending' and i.claimed_by = ${claimedBy}
		and i.claimed_at < clock_timestamp() - make_interval(secs => ${minAgeSeconds}::float8)
		and i.id <> all(${held.itemIds}::bigint[]) and i.batch_id <> all(${held.busyBatchIds}::uuid[])`;
	// The batch rows first, then the items: the order every writer of outcomes locks them in.
	const batches = await tx<{ id: string }[]>`
		select b.id from batch_operations b
		where b.id in (select i.batch_id from batch_items i where ${lost})
		order by b.id
		for no key update`;
	if (batches.length === 0) return;
	const rows = await tx<{ batch_id: string }[]>`
		update batch_items i set
			status = case when b.status in ('CANCELLED', 'FAILED') then 'cancelled' else 'pending' end,
			attempts = greatest(i.attempts - 1, 0), claimed_by = null, claimed_at = null, updated_at = now()
		from batch_operations b
		where b.id = i.batch_id
			and i.id in (select i.id from batch_items i where ${lost} for update skip locked)
		returning i.batch_id`;
	return resumeBatches(tx, [...new Set(rows.map((r) => r.batch_id))]);
}

/** A slice job again, in the caller's transaction, for each of these batches still running; the live updates for after commit. */
export async function resumeBatches(tx: Tx, ids: string[]): Promise<(() => Promise<void>) | void> {
	if (ids.length === 0) return;
	const batches = await tx<{ id: string; rate_per_minute: number | null; status: string }[]>`
		select id, rate_per_minute, status from batch_operations where id = any(${ids}::uuid[])`;
	for (const b of batches) {
		if (b.status === 'PROCESSING') await enqueueSlice({ id: b.id, ratePerMinute: b.rate_per_minute }, { spawn: true }, tx);
	}
	return async () => {
		for (const b of batches) await publishBatchUpdate(b.id);
	};
}
