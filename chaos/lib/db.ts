/**
 * The runner's own connection to a scenario's database (through the app's client, so
 * services can be called directly), and the reads scenarios check their invariants with.
 */
import { closeDb, sql } from '../../src/lib/server/db/client';
import { resetEnvCache } from '../../src/lib/server/env';
import { createUser } from '../../src/lib/server/auth/users';
import { createApiToken } from '../../src/lib/server/auth/tokens';
import { randomBytes } from 'node:crypto';

/** Points this process's pool (sql(), services) at `url`, closing the previous one. */
export async function useDatabase(url: string) {
	await closeDb().catch(() => {});
	process.env.DATABASE_URL = url;
	resetEnvCache();
}

export { sql };

/** A new user of `role` and an API token for them (Bearer auth on HTTP, ws connectionParams). */
export async function userWithToken(role: 'admin' | 'operator' | 'viewer' = 'operator') {
	const email = `${role}-${randomBytes(4).toString('hex')}@chaos.local`;
	const user = await createUser({ email, password: 'correct horse battery', role });
	const { token } = await createApiToken(user.id, 'chaos');
	return { userId: user.id, email, token };
}

/** n contacts with phones `${prefix}0000001`…; returns their ids in order. */
export async function seedContacts(n: number, prefix = '+1555'): Promise<number[]> {
	const rows = await sql()<{ id: number }[]>`
		insert into contacts (phone_e164, name, attributes)
		select ${prefix} || lpad(g::text, 7, '0'), 'Name ' || g, jsonb_build_object('city', 'City ' || g)
		from generate_series(1, ${n}) g
		on conflict (phone_e164) do update set name = excluded.name
		returning id::int as id`;
	return rows.map((r) => r.id);
}

export async function createChannel(id: string, kind: string, config: Record<string, unknown>, ratePerSecond = 1000) {
	await sql()`
		insert into channels (id, name, kind, config, rate_per_second)
		values (${id}, ${id}, ${kind}, ${JSON.stringify(config)}::jsonb, ${ratePerSecond})
		on conflict (id) do update set config = excluded.config, rate_per_second = excluded.rate_per_second`;
}

export type BatchRowSummary = {
	id: string;
	type: string;
	status: string;
	total_count: number;
	processed_count: number;
	success_count: number;
	failed_count: number;
	skipped_count: number;
	unknown_count: number;
	error: string | null;
};

export async function batchRow(id: string): Promise<BatchRowSummary> {
	const [b] = await sql()<BatchRowSummary[]>`
		select id, type, status, total_count, processed_count, success_count, failed_count, skipped_count, unknown_count, error
		from batch_operations where id = ${id}`;
	return b;
}

/** Items of a batch by status, e.g. { sent: 998, unknown: 2 }. */
export async function itemCounts(batchId: string): Promise<Record<string, number>> {
	const rows = await sql()<{ status: string; n: number }[]>`
		select status, count(*)::int as n from batch_items where batch_id = ${batchId} group by 1`;
	return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Items still claimed by some worker (status sending or claimed_by set), over all batches. */
export async function claimedItems(batchId?: string): Promise<number> {
	const [r] = batchId
		? await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${batchId} and (status = 'sending' or claimed_by is not null)`
		: await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where status = 'sending' or claimed_by is not null`;
	return r.n;
}

/** Recipients of a batch never given an outcome once the batch has ended (must be 0). */
export async function lostItems(batchId: string): Promise<number> {
	const [r] = await sql()<{ n: number }[]>`
		select count(*)::int as n from batch_items where batch_id = ${batchId} and status in ('pending', 'sending')`;
	return r.n;
}

export async function batchCount(type?: string): Promise<number> {
	const [r] = type
		? await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = ${type}`
		: await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
	return r.n;
}
