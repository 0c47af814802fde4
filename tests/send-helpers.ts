import { sql } from '../src/lib/server/db/client';
import { waitFor } from './helpers';
import { useWorker } from './worker-helpers';

/**
 * A real worker for a test file's sends, started once with `settings` applied (retries
 * shortened to 50 ms unless given, so error paths end quickly) and stopped at the end.
 */
export function useSendWorker(settings: Record<string, string> = {}) {
	useWorker({ SEND_RETRY_BASE_MS: '50', ...settings }, { concurrency: 4 });
}

/** Waits until the batch has ended (COMPLETED or FAILED). */
export const ended = (id: string, ms = 25_000) =>
	waitFor(async () => ['COMPLETED', 'FAILED'].includes((await batchRow(id)).status), ms);

/** Inserts n contacts (phones +1555000xxxx) and returns their ids in order. */
export async function seedContacts(n: number, opts: { prefix?: string; tags?: string[]; optedOut?: number[] } = {}) {
	const prefix = opts.prefix ?? '+1555';
	const rows = await sql()<{ id: number }[]>`
		insert into contacts (phone_e164, name, tags, attributes)
		select ${prefix} || lpad(g::text, 7, '0'), 'Name ' || g, ${opts.tags ?? []}::text[], jsonb_build_object('city', 'City ' || g)
		from generate_series(1, ${n}) g
		returning id::int as id`;
	const ids = rows.map((r) => r.id);
	if (opts.optedOut?.length) {
		await sql()`update contacts set opted_out_at = now() where id = any(${opts.optedOut.map((i) => ids[i])}::bigint[])`;
	}
	return ids;
}

export async function batchRow(id: string) {
	const [b] = await sql()<
		{
			status: string;
			total_count: number;
			processed_count: number;
			success_count: number;
			failed_count: number;
			skipped_count: number;
			unknown_count: number;
			error: string | null;
		}[]
	>`select status, total_count, processed_count, success_count, failed_count, skipped_count, unknown_count, error
		from batch_operations where id = ${id}`;
	return b;
}

export async function itemCounts(id: string): Promise<Record<string, number>> {
	const rows = await sql()<{ status: string; n: number }[]>`select status, count(*)::int as n from batch_items where batch_id = ${id} group by 1`;
	return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Every outbox row of a batch, grouped by idempotency key: a count above 1 would be a duplicate. */
export async function outboxStats(batchId: string) {
	const [r] = await sql()<{ rows: number; distinct_items: number }[]>`
		select count(*)::int as rows, count(distinct item_id)::int as distinct_items from outbox where batch_id = ${batchId}`;
	return r;
}

export async function createChannel(id: string, kind: string, config: Record<string, unknown>, ratePerSecond = 1000) {
	await sql()`insert into channels (id, name, kind, config, rate_per_second) values (${id}, ${id}, ${kind}, ${JSON.stringify(config)}::jsonb, ${ratePerSecond})`;
}
