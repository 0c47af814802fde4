import { sql } from '../db/client';
import { render } from '../templates/render';
import { sandboxConfig, sandboxMessageIdSql } from '../channels/sandbox';
import { outboxInsertSql } from '../channels/outbox';
import { capabilitiesOf } from '../channels/registry';
import type { ChannelRow } from '../channels/types';
import { counterAssignments } from '../batches/counters';
import { latenessOf } from './pacing';
import type { CountDelta, PacedStep, SliceResult } from './types';

/**
 * The fast path of a paced batch on a channel that delivers by database write
 * (capability batchSend: the sandbox). Pacing accuracy depends on how long one
 * send takes once it is due, so the next recipient is read and rendered while the
 * step waits for its time, and the send itself is ONE statement: lock the batch row,
 * check it is still PROCESSING and due (database clock), mark the item sent, insert
 * the outbox row, move the counters and next_send_at. One clock reading serves the
 * due check, the recorded send time and the next due time, so two sends are never
 * closer than the interval, whichever order the statement's parts run in. Anything unusual (a contact
 * gone or opted out, simulated latency or failures) takes the general path instead.
 */
export type Prepared = { itemId: number; phone: string; text: string };

export function fastPathApplies(channel: ChannelRow): boolean {
	const cfg = sandboxConfig(channel);
	return capabilitiesOf(channel.kind).batchSend && cfg.latencyMs === 0 && cfg.failureRate === 0;
}

/** The next recipient, rendered; null when the general path should handle it (or none is left). */
export async function prepareNext(batchId: string, body: string): Promise<Prepared | null> {
	// A recipient with quiet hours goes by the general path, whose claim holds it while its window lasts (send/quiet.ts).
	const [it] = await sql()<{ id: number; phone: string | null; name: string | null; attributes: Record<string, unknown> | null; ok: boolean }[]>`
		select i.id::int as id, c.phone_e164 as phone, c.name, c.attributes,
			(c.id is not null and c.opted_out_at is null and i.quiet_zones is null) as ok
		from batch_items i left join contacts c on c.id = i.contact_id
		where i.batch_id = ${batchId} and i.status = 'pending' and (i.not_before is null or i.not_before <= now())
		order by i.id limit 1`;
	if (!it || !it.ok) return null;
	return { itemId: it.id, phone: it.phone!, text: render(body, { name: it.name, phone: it.phone, attributes: it.attributes }).text };
}

/**
 * One schedule for every channel: each send at least its gap (base + jitter draw) after
 * the previous send's recorded time, which for this path is the statement's own clock
 * reading. A late send delays the rest; nothing catches up, so no gap is ever shorter
 * than the base interval (before: an ideal schedule caught up after a late send, at the
 * base interval, which made a gap shorter than base + draw). The mean stays on target
 * because the step fires within a fraction of a millisecond of its time (send/clock.ts
 * waitUntilPerf, and the statement is one round trip), and the lateness left is drawn
 * from the jitter (pacing.ts Lateness; `o.next_send_at` in the final select is the due
 * time this statement checked, the snapshot before its own update).
 */
export async function sendPrepared(
	batchId: string,
	channel: ChannelRow,
	p: Prepared,
	paced: PacedStep
): Promise<SliceResult & { sent: boolean; sentAtMs?: number }> {
	const lateness = latenessOf(batchId);
	const gap = lateness.gapMs(paced);
	const ex = sql();
	const oneSent: CountDelta = { processed: 1, success: 1, failed: 0, skipped: 0, unknown: 0 };
	const [r] = await ex<{ sent: number; next_ms: number | null; ts_ms: number; status: string; due: boolean; was_due_ms: number | null }[]>`
		with t as materialized (select clock_timestamp() as ts),
		b as (
			select id from batch_operations
			where id = ${batchId} and status = 'PROCESSING' and (next_send_at is null or next_send_at <= (select ts from t))
			for no key update),
		it as (
			update batch_items set status = 'sent', attempts = attempts + 1, provider_message_id = ${sandboxMessageIdSql(ex)},
				error_class = null, error_code = null, error_message = null, not_before = null, updated_at = now()
			where id = ${p.itemId} and status = 'pending' and exists (select 1 from b)
			returning id),
		ins as (${outboxInsertSql(ex, {
			channelId: channel.id,
			batchId,
			messages: ex`select it.id, ${p.phone}::text, ${p.text}::text from it`,
			sentAt: ex`(select ts from t)`
		})}),
		upd as (
			update batch_operations set ${counterAssignments(ex, oneSent)},
				next_send_at = (select ts from t) + make_interval(secs => ${gap / 1000}::float8)
			where id = ${batchId} and exists (select 1 from it)
			returning (extract(epoch from next_send_at) * 1000)::float8 as next_ms)
		select (select count(*) from it)::int as sent, (select next_ms from upd) as next_ms,
			(select (extract(epoch from ts) * 1000)::float8 from t) as ts_ms, o.status,
			(o.next_send_at is null or o.next_send_at <= (select ts from t)) as due,
			(extract(epoch from o.next_send_at) * 1000)::float8 as was_due_ms
		from batch_operations o where o.id = ${batchId}`;
	if (!r || r.status !== 'PROCESSING') return { claimed: 0, stopped: true, sent: false };
	if (r.sent === 1 && r.was_due_ms !== null) lateness.observe(r.ts_ms - r.was_due_ms, paced.jitterMs);
	if (r.sent === 1) return { claimed: 1, stopped: false, sent: true, delta: oneSent, nextDueMs: r.next_ms, sentAtMs: r.ts_ms };
	if (!r.due) return { claimed: 0, stopped: false, early: true, sent: false };
	// The item changed meanwhile (cancelled, retried elsewhere): the general path sorts it out.
	return { claimed: 0, stopped: false, sent: false };
}
