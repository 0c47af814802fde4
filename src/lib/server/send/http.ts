/**
 * What the HTTP paths share (http-window.ts unpaced, http-paced.ts paced): claiming items,
 * turning a claimed row into a message, one call to the provider, and settling claims
 * whose outcomes could not be recorded.
 */
import { isConnectionError, sql, transaction } from '../db/client';
import { env } from '../env';
import { render, type RenderContact } from '../templates/render';
import { whenWritten } from '../channels/http';
import { messageKey, type Channel, type ChannelRow } from '../channels/types';
import { WORKER_PROCESS_ID } from '../jobs/recovery';
import { errorOutcome, recordOutcomes, sentOutcome, skippedOutcome } from './outcomes';
import { settleOwnUnrecorded } from './recovery';
import { claiming, released, unrecorded } from './claims';
import { haltOnAuthError } from './guards';
import type { ClaimedRow, CountDelta, ItemOutcome } from './types';
import { heldSql } from './quiet';


/** A claimed row, with (paced) when the batch was due and when its next send may start. */
export type Claimed = ClaimedRow & { due_ms: number | null; next_ms: number | null };

/**
 * Claims up to `limit` pending items of a PROCESSING batch in ONE statement (its own
 * short transaction): status check, claim (status `sending`, this process as claimant)
 * and the recipients' contact rows. The first row always carries the batch status.
 * The batch row is read FOR KEY SHARE (unpaced: lanes do not block each other; a cancel
 * or pause, which locks it FOR UPDATE, waits for a claim in progress and is seen by
 * every later one) or FOR NO KEY UPDATE (paced: two steps never both pass the due check,
 * and the step moves next_send_at in the same statement).
 */
export async function claim(batchId: string, limit: number, paced?: { leadMs: number; gapMs: number }): Promise<Claimed[]> {
	const ex = sql();
	const lock = paced ? ex`for no key update` : ex`for key share`;
	const lead = paced ? paced.leadMs / 1000 : 0;
	// Paced: due a little ahead of time (the lead) so that the claim and the render are
	// done when the send's time comes; the send itself waits for the time (sendAt below).
	// next_send_at moves provisionally to (due or now) + gap, so nothing else can pass
	// before this send has happened; once it has, it moves to "written + gap".
	return claiming(batchId, () => ex<Claimed[]>`
		with b as (
			select status, (next_send_at is null or next_send_at <= clock_timestamp() + make_interval(secs => ${lead}::float8)) as due,
				(extract(epoch from next_send_at) * 1000)::float8 as due_ms, quiet_start, quiet_end
			from batch_operations where id = ${batchId} ${lock}),
		cand as (
			select id, quiet_zones from batch_items
			where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				and exists (select 1 from b where status = 'PROCESSING' and due)
			order by id limit ${limit} for update skip locked),
		${heldSql(ex)},
		picked as (select id from cand where id not in (select id from held)),
		claimed as (
			update batch_items i set status = 'sending', attempts = i.attempts + 1, claimed_by = ${WORKER_PROCESS_ID},
				claimed_at = now(), updated_at = now()
			from picked where i.id = picked.id
			returning i.id, i.contact_id, i.attempts),
		moved as (
			update batch_operations set next_send_at = greatest(coalesce(next_send_at, clock_timestamp()), clock_timestamp())
				+ make_interval(secs => ${paced ? paced.gapMs / 1000 : 0}::float8)
			where id = ${batchId} and ${paced ? ex`true` : ex`false`} and exists (select 1 from claimed)
			returning (extract(epoch from next_send_at) * 1000)::float8 as next_ms)
		select b.status, b.due, b.due_ms, (select next_ms from moved) as next_ms, (select count(*) from held)::int as held,
			c.id::int as id, c.attempts,
			ct.phone_e164 as phone, ct.name, ct.attributes, coalesce(ct.opted_out_at is not null, false) as opted_out,
			(c.id is not null and ct.id is null) as gone
		from b left join (claimed c left join contacts ct on ct.id = c.contact_id) on true
		order by c.id`);
}

/** What becomes of a claimed row before any call: skipped, or a message to send. */
export type Message = { id: number; attempts: number; to: string; text: string; key: string; contact: RenderContact };

export function prepare(batchId: string, body: string, it: Claimed): ItemOutcome | Message {
	const id = it.id!;
	if (it.gone) return skippedOutcome(id, 'contact_deleted');
	if (it.opted_out) return skippedOutcome(id, 'opted_out');
	// The contact's fields go along too: a channel may fill a provider template from them.
	const contact = { name: it.name, phone: it.phone, attributes: it.attributes };
	return { id, attempts: it.attempts, to: it.phone!, text: render(body, contact).text, key: messageKey(batchId, id), contact };
}

export async function sendOne(channel: Channel, row: ChannelRow, m: Message, onWritten?: () => void) {
	try {
		const send = () => channel.send({ to: m.to, body: m.text, idempotencyKey: m.key, contact: m.contact });
		const id = onWritten ? await whenWritten(onWritten, send) : await send();
		return sentOutcome(m.id, id);
	} catch (e) {
		// Refused credentials pause the channel's batches now: the next wave's status check stops this lane.
		await haltOnAuthError(row, e);
		return errorOutcome(m.id, m.attempts, e, channel.capabilities);
	}
}


/**
 * Records outcomes in their own transaction, waiting out a lost database connection
 * (with back-off, up to WORKER_OUTAGE_GRACE_SECONDS): these answers are known, and
 * writing them when the database is back beats settling them as unknown. Ownership
 * (recordOutcomes) keeps a late write from counting items this process lost meanwhile.
 */
export async function recordPatiently(batchId: string, outcomes: ItemOutcome[]): Promise<CountDelta> {
	const since = Date.now();
	for (let n = 0; ; n++) {
		try {
			const delta = await transaction((tx) => recordOutcomes(tx, batchId, outcomes, false));
			released(outcomes.map((o) => o.id));
			return delta;
		} catch (e) {
			if (!isConnectionError(e) || Date.now() - since > env().worker.outageGraceSeconds * 1000) throw e;
			await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** n, 5_000)));
		}
	}
}

/** Claims (still this process's) whose outcomes could not be written: settled as a dead worker's are. */
export async function resolveUnrecorded(ids: number[]) {
	try {
		await transaction((tx) => settleOwnUnrecorded(tx, WORKER_PROCESS_ID, ids));
	} catch (e) {
		// Not even that (the database still away): the heartbeat's sweep settles them later.
		unrecorded(ids);
		throw e;
	}
	released(ids);
}
