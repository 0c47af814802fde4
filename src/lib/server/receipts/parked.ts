import { sql, transaction, type Executor } from '../db/client';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';
import { logger } from '../log';
import { publishBatchUpdate } from '../events/publish';
import { applyReceipts } from './apply';
import type { Delivery, Receipt } from './types';

const log = logger.child({ module: 'receipts' });

/**
 * Receipts that found no item yet. A send's outcome (with the provider's message id)
 * is written a moment after the provider accepted it (the HTTP window records answers
 * in batches), and a fast `delivered` can arrive in between; the provider already has
 * its 200, so it will not send it again. Such receipts are parked in parked_receipts
 * (a restart of either process keeps them) and a worker job applies each once its
 * message id is recorded: it runs SWEEP_MS after the first one parked and again while
 * any is left. A receipt whose message id never shows up (another system's message on
 * the same account, a send whose outcome was never recorded) is dropped after
 * PARKED_TTL_MS.
 */
export const PARKED_TTL_MS = 10 * 60_000;
const SWEEP_MS = 1_000;
/** At most this many parked: a flood of ids nobody sent (signed, so from the provider) cannot grow the table without bound. */
const MAX_PARKED = 100_000;
const SWEEP_JOB_KEY = 'receipts:parked';

/** Parks receipts that matched no item, and makes sure a sweep is coming. */
export async function parkReceipts(channelIds: string[], receipts: Receipt[]): Promise<void> {
	if (receipts.length === 0) return;
	await transaction(async (tx) => {
		const rows = await tx<{ id: number }[]>`
			insert into parked_receipts (channel_ids, message_id, delivery, code)
			select ${channelIds}::text[], r.message_id, r.delivery, nullif(r.code, '')
			from unnest(${receipts.map((r) => r.messageId)}::text[], ${receipts.map((r) => r.delivery)}::text[],
				${receipts.map((r) => r.code ?? '')}::text[]) as r(message_id, delivery, code)
			where (select count(*) from (select 1 from parked_receipts limit ${MAX_PARKED}) x) < ${MAX_PARKED}
			returning id`;
		if (rows.length < receipts.length) log.warn({ channelIds, dropped: receipts.length - rows.length }, 'too many receipts waiting for their messages: dropped');
		if (rows.length > 0) await scheduleSweep(tx);
	});
}

/** One sweep job, due SWEEP_MS from the first caller; later callers do not push it back. */
function scheduleSweep(ex: Executor = sql()) {
	return enqueue(TASK.receiptsParked, {}, { runAt: new Date(Date.now() + SWEEP_MS), jobKey: SWEEP_JOB_KEY, jobKeyMode: 'preserve_run_at', maxAttempts: 3 }, ex);
}

type Parked = { id: number; channel_ids: string[]; message_id: string; delivery: Delivery; code: string | null };

/**
 * Applies the parked receipts whose message id has been recorded (on any item: one
 * recorded for another channel's batch will never apply to these channels, so it goes
 * too), drops the expired ones, and comes back while some are left.
 */
export async function sweepParkedReceipts(): Promise<{ applied: number; left: number }> {
	await sql()`delete from parked_receipts where received_at < now() - make_interval(secs => ${PARKED_TTL_MS / 1000}::float8)`;
	const rows = await sql()<Parked[]>`
		select p.id::int as id, p.channel_ids, p.message_id, p.delivery, p.code
		from parked_receipts p
		where exists (select 1 from batch_items i where i.provider_message_id = p.message_id)
		order by p.id limit 5000`;
	// One apply per signature scope, in the order received (a later receipt of the same
	// message cannot move it backwards anyway: apply.ts ranks the states).
	const groups = new Map<string, Parked[]>();
	for (const r of rows) {
		const k = r.channel_ids.join('\u0000');
		groups.set(k, [...(groups.get(k) ?? []), r]);
	}
	let applied = 0;
	const batchIds = new Set<string>();
	for (const group of groups.values()) {
		const res = await transaction(async (tx) => {
			const a = await applyReceipts(
				tx,
				group[0].channel_ids,
				group.map((r) => ({ messageId: r.message_id, delivery: r.delivery, code: r.code }))
			);
			await tx`delete from parked_receipts where id = any(${group.map((r) => r.id)}::bigint[])`;
			return a;
		});
		applied += res.changed;
		for (const id of res.batchIds) batchIds.add(id);
	}
	for (const id of batchIds) await publishBatchUpdate(id).catch((err) => log.warn({ err, batchId: id }, 'live update failed'));
	const [{ left }] = await sql()<{ left: number }[]>`select count(*)::int as left from parked_receipts`;
	if (left > 0) await scheduleSweep();
	if (applied > 0 || rows.length > 0) log.debug({ applied, matched: rows.length, left }, 'parked receipts swept');
	return { applied, left };
}
