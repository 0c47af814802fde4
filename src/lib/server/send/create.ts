import { DEFAULT_CHANNEL_ID } from '../channels/types';
import { createHash } from 'node:crypto';
import { transaction, type Executor, type Tx } from '../db/client';
import { badInput, conflict, notFound } from '../errors';
import { contactWhere } from '../contacts/filter';
import type { SendInput } from '../../schemas/send';
import { loadChannelRow } from '../channels/registry';
import { getTemplate } from '../templates/service';
import { enqueueSlice } from './jobs';
import { findBatch, type BatchRow } from '../batches/repository';
import { publishBatchUpdate } from '../events/publish';
import { audit, type AuditCtx } from '../audit/record';
import { quietMinutes } from '../../schemas/quiet';
import { quietUntilSql, sendWindow, zonesSql } from './quiet';

const IDEMPOTENCY_WINDOW_HOURS = 24;
/** Inputs keep explicit ids up to this many; beyond, only their count (the ledger has them all). */
const INPUT_IDS_KEPT = 1000;

function stable(v: unknown): unknown {
	if (Array.isArray(v)) return v.map(stable);
	if (v instanceof Date) return v.toISOString();
	if (v && typeof v === 'object') {
		return Object.fromEntries(Object.keys(v).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])]));
	}
	return v;
}

export function inputHash(input: SendInput): string {
	const { idempotencyKey: _k, ...rest } = input;
	return createHash('sha256').update(JSON.stringify(stable(rest))).digest('hex');
}

type Created = { batch: BatchRow; deduplicated: boolean };

/**
 * Creates a SEND batch: the batch row, one ledger item per distinct target (missing
 * or opted-out contacts are skipped with the reason) and its first slice job, in one
 * transaction. Bad input throws before anything is written; the transaction rolls
 * back on any later refusal.
 */
export async function createSendBatch(input: SendInput, userId: number | null, by?: AuditCtx): Promise<Created> {
	const channelId = input.channelId ?? DEFAULT_CHANNEL_ID;
	const channel = await loadChannelRow(channelId, true).catch(() => {
		throw notFound(`No channel "${channelId}".`, 'channelId');
	});
	if (!channel.enabled) throw badInput(`Channel "${channelId}" is disabled.`, 'channelId');
	const body = input.templateId !== undefined ? (await getTemplate(input.templateId)).body : input.content!;
	const hash = inputHash(input);
	const quiet = sendWindow(input, channel);
	const window = quietMinutes(quiet);

	return transaction(async (tx) => {
		if (input.scheduleAt) {
			// On the database clock, the one every worker starts batches by.
			const [row] = await tx<{ past: boolean }[]>`select ${input.scheduleAt}::timestamptz <= clock_timestamp() as past`;
			if (row.past) throw badInput('scheduleAt must be in the future.', 'scheduleAt');
		}
		if (input.idempotencyKey) {
			const existing = await reuseByKey(tx, userId, input.idempotencyKey, hash);
			if (existing) return { batch: existing, deduplicated: true };
		}
		const storedInput: Record<string, unknown> = { ...input, channelId, body, quietHours: quiet };
		delete storedInput.idempotencyKey;
		if (input.contactIds && input.contactIds.length > INPUT_IDS_KEPT) {
			storedInput.contactIds = undefined;
			storedInput.contactIdsCount = input.contactIds.length;
		}
		const [batch] = await tx<{ id: string }[]>`
			insert into batch_operations (type, status, input, created_by, scheduled_at, idempotency_key, idempotency_hash,
				channel_id, rate_per_minute, jitter_ms, next_send_at, quiet_start, quiet_end)
			values ('SEND', 'PENDING', ${JSON.stringify(storedInput)}::jsonb, ${userId}, ${input.scheduleAt ?? null}::timestamptz,
				${input.idempotencyKey ?? null}, ${input.idempotencyKey ? hash : null}, ${channelId},
				${input.ratePerMinute ?? null}::int, ${input.jitterMs ?? null}::int, ${input.scheduleAt ?? null}::timestamptz,
				${window?.start ?? null}::smallint, ${window?.end ?? null}::smallint)
			returning id`;
		const counts = await insertItems(tx, batch.id, input, window);
		if (counts.total === 0) {
			throw badInput(input.filter ? 'No contacts match the filter.' : 'No recipients.', input.filter ? 'filter' : 'contactIds');
		}
		await tx`
			update batch_operations
			set total_count = ${counts.total}, skipped_count = ${counts.skipped}, processed_count = ${counts.skipped}
			where id = ${batch.id}`;
		await enqueueSlice(
			{ id: batch.id, ratePerMinute: input.ratePerMinute ?? null },
			{ runAt: input.scheduleAt, spawn: true },
			tx
		);
		await audit(tx, by, 'batch.send', { type: 'batch', id: batch.id }, { ...sendSummary(input, channelId, counts), quietHours: quiet });
		// Delivered at commit: history and other consoles show the new batch (a scheduled one too) before it starts.
		await publishBatchUpdate(batch.id, { statusChange: true, tx });
		return { batch: (await findBatch(batch.id, tx))!, deduplicated: false };
	});
}

/** What the audit log keeps of a send: where, when, to whom (ids by their count), not the text (the batch has it). */
function sendSummary(input: SendInput, channelId: string, counts: { total: number; skipped: number }) {
	return {
		channelId,
		templateId: input.templateId,
		scheduleAt: input.scheduleAt,
		ratePerMinute: input.ratePerMinute,
		...(input.contactIds ? { contactIdsCount: input.contactIds.length } : { filter: input.filter }),
		recipients: counts.total,
		skipped: counts.skipped
	};
}

/** Same key within 24 h: the same input gets the same batch, another input a conflict. */
async function reuseByKey(tx: Tx, userId: number | null, key: string, hash: string): Promise<BatchRow | null> {
	// Two requests with one key at once: the second waits here, then finds the first.
	await tx`select pg_advisory_xact_lock(hashtext(${`send-idem:${userId}:${key}`}))`;
	const [prev] = await tx<{ id: string; hash: string; fresh: boolean }[]>`
		select id, idempotency_hash as hash, created_at > now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS}) as fresh
		from batch_operations
		where created_by is not distinct from ${userId}
			and idempotency_key = ${key}`;
	if (!prev) return null;
	if (!prev.fresh) {
		// Outside the window the key is free again; the old batch keeps its history.
		await tx`update batch_operations set idempotency_key = null where id = ${prev.id}`;
		return null;
	}
	if (prev.hash !== hash) {
		throw conflict('This idempotencyKey was used for a different send within 24 hours.', 'idempotencyKey');
	}
	return (await findBatch(prev.id, tx)) ?? null;
}

/**
 * One ledger row per distinct target, set-based. Explicit ids that match no contact
 * and opted-out contacts become skipped items, so the counts tell the operator why.
 * With quiet hours, each item also gets its recipient's zone(s), and those inside
 * their window now are held until its end right away (send/quiet.ts).
 */
async function insertItems(tx: Executor, batchId: string, input: SendInput, window: { start: number; end: number } | null) {
	type Counts = { total: number; skipped: number };
	const from = input.contactIds
		? tx`from unnest(${[...new Set(input.contactIds)]}::bigint[]) as t(id) left join contacts c on c.id = t.id`
		: tx`from contacts c`;
	const where = input.contactIds ? tx`` : tx`where ${contactWhere(input.filter!)}`;
	const target = input.contactIds ? tx`t.id` : tx`c.id`;
	const skip = input.contactIds ? tx`c.id is null or c.opted_out_at is not null` : tx`c.opted_out_at is not null`;
	const zones = window ? zonesSql(tx) : null;
	// Each distinct set of zones is judged once (a few hundred sets for 100 000 recipients;
	// judging each row took 60 s for 100 000 in batch.precheck), then joined back.
	const until = window
		? tx`(select d.zones, ${quietUntilSql(tx, tx`d.zones`, tx`${window.start}::int`, tx`${window.end}::int`)} as until
			from (select distinct zones from s where zones is not null) d)`
		: tx`(select null::text[] as zones, null::timestamptz as until)`;
	const [row] = await tx<Counts[]>`
		with ${zones ? zones.ctes : tx``}
		s as materialized (
			select ${target} as target, c.phone_e164 as phone, c.name,
				case when ${skip} then 'skipped' else 'pending' end as status,
				case when ${skip} then 'permanent' end as error_class,
				case when c.id is null then 'contact_missing' when c.opted_out_at is not null then 'opted_out' end as error_code,
				case when c.id is null then 'No such contact' when c.opted_out_at is not null then 'Contact opted out' end as error_message,
				case when not (${skip}) then ${zones ? zones.expr : tx`null::text[]`} end as zones
			${from}
			${where}),
		u as ${until},
		ins as (
			insert into batch_items (batch_id, contact_id, phone, name, status, error_class, error_code, error_message,
				quiet_zones, not_before, quiet_until)
			select ${batchId}::uuid, s.target, s.phone, s.name, s.status, s.error_class, s.error_code, s.error_message,
				s.zones, u.until, u.until
			from s left join u on u.zones = s.zones
			order by s.target
			returning status)
		select count(*)::int as total, count(*) filter (where status = 'skipped')::int as skipped from ins`;
	return row;
}
