import { sql } from '../db/client';
import { render, isStatic } from '../templates/render';
import { sandboxConfig, simulatedFailure } from '../channels/sandbox';
import type { ChannelRow } from '../channels/types';
import { errorOutcome, recordOutcomes, sentOutcome, skippedOutcome, type CountDelta, type ItemOutcome, type Tx } from './send-outcomes';

export type SliceResult = { claimed: number; stopped: boolean; early?: boolean; delta?: CountDelta };

export type PacedStep = { baseMs: number; jitterMs: number };

type Claimed = {
	id: number;
	attempts: number;
	contact_id: number | null;
	phone: string | null;
	name: string | null;
	attributes: Record<string, unknown> | null;
	opted_out: boolean;
	gone: boolean;
};

/**
 * The sandbox's batch form: claim, "send" (one multi-row insert into the outbox) and
 * record outcomes in ONE transaction. A crash rolls all of it back, so nothing is
 * lost or doubled; the outbox's unique idempotency key guards re-sends anyway.
 *
 * The batch row is read FOR KEY SHARE: lanes do not block each other, but a cancel or
 * pause (which locks the row FOR UPDATE first) waits for a slice in progress and is
 * seen by every later one. So once a cancel commits, no new send starts.
 *
 * `paced`: one item, only once next_send_at has come (database clock), and the
 * next send time is moved on in the same transaction.
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
	return sql().begin(async (tx) => {
		const [b] = await tx<{ status: string; due: boolean }[]>`
			select status, (next_send_at is null or next_send_at <= clock_timestamp()) as due
			from batch_operations where id = ${batchId} for key share`;
		if (!b || b.status !== 'PROCESSING') return { claimed: 0, stopped: true };
		if (paced && !b.due) return { claimed: 0, stopped: false, early: true };
		const items = await tx<Claimed[]>`
			with picked as (
				select id, contact_id, attempts from batch_items
				where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				order by id limit ${limit} for update skip locked)
			select p.id::int as id, p.attempts + 1 as attempts, p.contact_id::int as contact_id, c.phone_e164 as phone, c.name, c.attributes,
				c.opted_out_at is not null as opted_out, c.id is null as gone
			from picked p left join contacts c on c.id = p.contact_id order by p.id`;
		if (items.length === 0) return { claimed: 0, stopped: false };

		const staticBody = isStatic(body);
		const outcomes: ItemOutcome[] = [];
		const ids: number[] = [];
		const phones: string[] = [];
		const bodies: string[] = [];
		for (const it of items) {
			if (it.gone) outcomes.push(skippedOutcome(it.id, 'contact_deleted'));
			else if (it.opted_out) outcomes.push(skippedOutcome(it.id, 'opted_out'));
			else {
				const fail = simulatedFailure(cfg);
				if (fail) {
					outcomes.push(errorOutcome(it.id, it.attempts, fail));
					continue;
				}
				ids.push(it.id);
				phones.push(it.phone!);
				if (!staticBody) bodies.push(render(body, { name: it.name, phone: it.phone, attributes: it.attributes }).text);
				outcomes.push(sentOutcome(it.id, `sbx:${batchId}:${it.id}`));
			}
		}
		if (ids.length) {
			if (staticBody) {
				await tx`insert into outbox (channel_id, batch_id, item_id, to_phone, body, idempotency_key, created_at)
					select ${channel.id}, ${batchId}::uuid, u.item_id, u.phone, ${body}, ${batchId} || ':' || u.item_id, clock_timestamp()
					from unnest(${ids}::bigint[], ${phones}::text[]) as u(item_id, phone)
					on conflict (idempotency_key) do nothing`;
			} else {
				await tx`insert into outbox (channel_id, batch_id, item_id, to_phone, body, idempotency_key, created_at)
					select ${channel.id}, ${batchId}::uuid, u.item_id, u.phone, u.body, ${batchId} || ':' || u.item_id, clock_timestamp()
					from unnest(${ids}::bigint[], ${phones}::text[], ${bodies}::text[]) as u(item_id, phone, body)
					on conflict (idempotency_key) do nothing`;
			}
		}
		const delta = await recordOutcomes(tx, batchId, outcomes, true);
		if (paced) await moveNextSendAt(tx, batchId, paced);
		return { claimed: items.length, stopped: false, delta };
	});
}

/**
 * The next send of a paced batch: the previous due time plus the gap (base + jitter
 * draw) keeps the mean exact, and never less than the base interval after this
 * send, so two sends are never closer than 60000 / ratePerMinute ms.
 */
export async function moveNextSendAt(tx: Tx, batchId: string, paced: PacedStep) {
	const gap = paced.baseMs + (paced.jitterMs > 0 ? Math.random() * paced.jitterMs : 0);
	await tx`update batch_operations set next_send_at = greatest(
			coalesce(next_send_at, clock_timestamp()) + make_interval(secs => ${gap / 1000}::float8),
			clock_timestamp() + make_interval(secs => ${paced.baseMs / 1000}::float8))
		where id = ${batchId}`;
}
