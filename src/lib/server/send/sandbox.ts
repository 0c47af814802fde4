import { transaction, type Tx } from '../db/client';
import { render, isStatic } from '../templates/render';
import { sandboxConfig, sandboxMessageId, sandboxMessageIdSql, simulatedFailure, SANDBOX_CAPABILITIES } from '../channels/sandbox';
import { outboxInsertSql } from '../channels/outbox';
import { messageKey, type ChannelRow } from '../channels/types';
import { counterAssignments } from '../batches/counters';
import { errorOutcome, recordOutcomes, sentOutcome, skippedOutcome } from './outcomes';
import type { ClaimedRow as Claimed, ItemOutcome, PacedStep, SliceResult } from './types';
import { heldSql } from './quiet';


/**
 * The batch form of a channel that delivers by database write (capability batchSend:
 * the sandbox): claim, "send" (one multi-row insert into the outbox) and record
 * outcomes in ONE transaction. A crash rolls all of it back, so nothing is
 * lost or doubled; the outbox's unique idempotency key guards re-sends anyway.
 *
 * Unpaced lanes read the batch row FOR KEY SHARE: they do not block each other, but a
 * cancel or pause (which locks the row FOR UPDATE first) waits for a slice in progress
 * and is seen by every later one. So once a cancel commits, no new send starts.
 * A paced step locks the row FOR NO KEY UPDATE instead: two steps of one batch can
 * never both pass the next_send_at check, whatever runs them.
 */
export async function sandboxSlice(
	batchId: string,
	channel: ChannelRow,
	body: string,
	limit: number,
	paced?: PacedStep
): Promise<SliceResult> {
	const cfg = sandboxConfig(channel);
	// Simulated provider latency, outside the transaction like a real call would be.
	if (cfg.latencyMs) await new Promise((r) => setTimeout(r, cfg.latencyMs));
	return transaction(async (tx): Promise<SliceResult> => {
		// Status check and claim in one round trip; the first row always carries the status.
		const lock = paced ? tx`for no key update` : tx`for key share`;
		const rows = await tx<Claimed[]>`
			with b as (
				select status, (next_send_at is null or next_send_at <= clock_timestamp()) as due, quiet_start, quiet_end
				from batch_operations where id = ${batchId} ${lock}),
			cand as (
				select id, contact_id, attempts, quiet_zones from batch_items
				where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
					and exists (select 1 from b where status = 'PROCESSING' and due)
				order by id limit ${limit} for update skip locked),
			${heldSql(tx)},
			picked as (select * from cand where id not in (select id from held))
			select b.status, b.due, (select count(*) from held)::int as held, p.id::int as id, p.attempts + 1 as attempts,
				c.phone_e164 as phone, c.name, c.attributes,
				c.opted_out_at is not null as opted_out, (p.id is not null and c.id is null) as gone
			from b left join (picked p left join contacts c on c.id = p.contact_id) on true
			order by p.id`;
		const head = rows[0];
		if (!head || head.status !== 'PROCESSING') return { claimed: 0, stopped: true };
		if (paced && !head.due) return { claimed: 0, stopped: false, early: true };
		const items = head.id === null ? [] : rows;
		if (items.length === 0) return { claimed: 0, stopped: false, held: head.held };

		const staticBody = isStatic(body);
		const outcomes: ItemOutcome[] = [];
		const ids: number[] = [];
		const phones: string[] = [];
		const bodies: string[] = [];
		for (const it of items) {
			const id = it.id!;
			if (it.gone) outcomes.push(skippedOutcome(id, 'contact_deleted'));
			else if (it.opted_out) outcomes.push(skippedOutcome(id, 'opted_out'));
			else {
				const fail = simulatedFailure(cfg);
				if (fail) {
					outcomes.push(errorOutcome(id, it.attempts, fail, SANDBOX_CAPABILITIES));
					continue;
				}
				ids.push(id);
				phones.push(it.phone!);
				if (!staticBody) bodies.push(render(body, { name: it.name, phone: it.phone, attributes: it.attributes }).text);
				outcomes.push(sentOutcome(id, sandboxMessageId(messageKey(batchId, id))));
			}
		}
		// The messages to deliver, one row each (a static body is sent once, not per row).
		const messages = () => tx`
			select u.item_id, u.phone, coalesce(u.body, ${body})
			from unnest(${ids}::bigint[], ${phones}::text[], ${staticBody ? null : bodies}::text[]) as u(item_id, phone, body)`;
		if (ids.length === items.length) {
			// Everyone sent (the common case): outbox rows, ledger and counters in one statement.
			const delta = { processed: ids.length, success: ids.length, failed: 0, skipped: 0, unknown: 0 };
			const [r] = await tx<{ next_ms: number | null }[]>`
				with t as materialized (select clock_timestamp() as ts),
				ins as (${outboxInsertSql(tx, { channelId: channel.id, batchId, messages: messages(), sentAt: tx`(select ts from t)` })}),
				upd as (
					update batch_items set status = 'sent', attempts = attempts + 1, provider_message_id = ${sandboxMessageIdSql(tx)},
						error_class = null, error_code = null, error_message = null, not_before = null, updated_at = now()
					where id = any(${ids}::bigint[])
					returning 1)
				update batch_operations set ${counterAssignments(tx, delta)}, next_send_at = ${nextSendAtSql(tx, paced, true)}
				where id = ${batchId}
				returning (extract(epoch from next_send_at) * 1000)::float8 as next_ms`;
			return { claimed: items.length, stopped: false, delta, nextDueMs: r?.next_ms ?? null, held: head.held };
		}
		if (ids.length) {
			await outboxInsertSql(tx, { channelId: channel.id, batchId, messages: messages(), sentAt: tx`clock_timestamp()` });
		}
		const delta = await recordOutcomes(tx, batchId, outcomes, true);
		const nextDueMs = paced ? await moveNextSendAt(tx, batchId, paced) : null;
		return { claimed: items.length, stopped: false, delta, nextDueMs, held: head.held };
	});
}

/**
 * The next send of a paced batch: this send's time plus the gap (base + jitter draw).
 * A late send delays the rest and never shortens a gap (the rule of send/paced.ts).
 */
function nextSendAtSql(tx: Tx, paced?: PacedStep, sentAtFromT = false) {
	if (!paced) return tx`next_send_at`;
	const gap = paced.baseMs + (paced.jitterMs > 0 ? Math.random() * paced.jitterMs : 0);
	// `t` (one clock reading per statement) when the send time was recorded from it.
	const at = sentAtFromT ? tx`(select ts from t)` : tx`clock_timestamp()`;
	return tx`${at} + make_interval(secs => ${gap / 1000}::float8)`;
}

export async function moveNextSendAt(tx: Tx, batchId: string, paced: PacedStep): Promise<number | null> {
	const [r] = await tx<{ next_ms: number | null }[]>`update batch_operations set next_send_at = ${nextSendAtSql(tx, paced)}
		where id = ${batchId} returning (extract(epoch from next_send_at) * 1000)::float8 as next_ms`;
	return r?.next_ms ?? null;
}
