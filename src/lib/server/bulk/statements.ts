import type { PendingQuery } from 'postgres';
import type { TagOperation } from '../../schemas/bulk';
import { sql } from '../db/client';
import type { Executor, Fragment } from '../db/client';
import { BATCH_CHANNEL, statusPayloadSql } from '../events/publish';
import { env } from '../env';

/**
 * Per-contact batch_items rows for TAG batches. Off by default: measured here, writing
 * one ledger row per changed contact (4 indexes + a foreign key) costs about as much as
 * the tag UPDATE itself and doubled a 1M-contact batch. A TAG batch's counts and input
 * say what it did; DELETE keeps a per-contact record anyway in deleted_contacts.
 * BULK_ITEM_LEDGER=on turns it on.
 */
const itemLedger = () => env().bulk.itemLedger;

/** What a chunk statement answers (`last` is a bigint: text from the client). */
export type ChunkResult = { status: string; matched: number; last: string | null; changed: number };

/**
 * The one statement per chunk of a TAG or DELETE batch. `target` selects the chunk's
 * contact ids (an id array, or the next keyset page of a filter). Each statement
 * reports how many targets it looked at, the last id (the cursor) and how many rows
 * it actually changed.
 *
 * Rows are reached with `id = any(array(select id from target))`: a primary-key lookup
 * per id. A join against the target CTE let the planner pick a hash or merge join that
 * scanned the whole contacts table on every chunk (quadratic over a 1M batch).
 */

/** New tags per operation, and the guard that skips rows already in the wanted state
 * (no row version, no index churn, no ledger row for a no-op). */
function tagChange(op: TagOperation, tags: string[]): { set: Fragment; guard: Fragment } {
	const q = sql();
	const t = q`${tags}::text[]`;
	switch (op) {
		// One tag (the common case) needs no per-row subquery: the guard already says it
		// is absent (add) or present (remove).
		case 'add':
			return {
				set:
					tags.length === 1
						? q`c.tags || ${t}`
						: q`c.tags || array(select x from unnest(${t}) x where not x = any(c.tags))`,
				guard: q`not c.tags @> ${t}`
			};
		case 'remove':
			return {
				set:
					tags.length === 1
						? q`array_remove(c.tags, ${tags[0]}::text)`
						: q`array(select x from unnest(c.tags) x where not x = any(${t}))`,
				guard: q`c.tags && ${t}`
			};
		case 'set':
			return { set: t, guard: q`not (c.tags @> ${t} and c.tags <@ ${t})` };
	}
}

/** The chunk's targets: explicit ids (array parameter, never one bind per id). */
export function idsTarget(ids: number[]): Fragment {
	return sql()`select unnest(${ids}::bigint[]) as id`;
}

/** The next keyset page of a filter, within the ids frozen when the batch started. */
export function filterTarget(where: Fragment, after: number, maxId: number, limit: number): Fragment {
	return sql()`select c.id from contacts c where c.id > ${after} and c.id <= ${maxId} and (${where})
		order by c.id limit ${limit}`;
}

/**
 * The whole of one chunk in ONE statement (one round trip, atomic on its own):
 *  - lock the batch row and go on only while it is PROCESSING (a cancel or pause that
 *    committed stops the batch before the next chunk; one racing this chunk waits for it);
 *  - change the chunk's contacts (`work`, over CTE `changed`, plus any CTE it adds);
 *  - add the chunk to the counters and move the cursor;
 *  - publish the new status row (pg_notify, delivered at commit).
 * Asynchronous commit for this transaction: the changes, counts and cursor commit
 * together, so a crash can only lose whole trailing chunks, which the retried job
 * redoes (tags and deletes are idempotent); waiting for a WAL flush on every chunk
 * was a large part of the cost over one plain statement.
 */
function chunkSql(ex: Executor, batchId: string, target: Fragment, work: Fragment): PendingQuery<ChunkResult[]> {
	const q = sql();
	return ex<ChunkResult[]>`with batch as (select status from batch_operations where id = ${batchId}::uuid for update),
	target as (select id from (${target}) t where (select status from batch) = 'PROCESSING'),
	${work},
	progress as (
		update batch_operations set
			processed_count = processed_count + (select count(*) from target),
			success_count = success_count + (select count(*) from changed),
			skipped_count = skipped_count + (select count(*) from target) - (select count(*) from changed),
			result = result || jsonb_build_object('cursor', (select max(id) from target)),
			updated_at = now()
		where id = ${batchId}::uuid and exists (select 1 from target)
		returning *
	)
	select (select status from batch) as status,
		(select count(*) from target)::int as matched,
		(select max(id) from target)::bigint as last,
		(select count(*) from changed)::int as changed,
		(select count(*) from (select pg_notify(${BATCH_CHANNEL}, ${statusPayloadSql(q)}) from progress) n)::int as notified,
		set_config('synchronous_commit', 'off', true) as async_commit`;
}

export function tagChunkSql(
	ex: Executor,
	batchId: string,
	target: Fragment,
	op: TagOperation,
	tags: string[],
	ledger = itemLedger()
): PendingQuery<ChunkResult[]> {
	const q = sql();
	const { set, guard } = tagChange(op, tags);
	return chunkSql(
		ex,
		batchId,
		target,
		q`changed as (
		update contacts c set tags = ${set}, updated_at = now()
		where c.id = any(array(select id from target)) and ${guard}
		returning ${ledger ? q`c.id, c.phone_e164, c.name` : q`c.id`}
	)${ledger ? q`,
	ledger as (
		insert into batch_items (batch_id, contact_id, phone, name, status, attempts, updated_at)
		select ${batchId}::uuid, id, phone_e164, name, 'done', 1, now() from changed
		on conflict (batch_id, contact_id) do nothing
	)` : q``}`
	);
}

/**
 * Deletes the chunk and archives each row whole into deleted_contacts in the same
 * statement, so the batch can be restored. A plain insert, no ON CONFLICT: a contact is
 * deleted once per batch (ids are distinct, a filter page moves past it), and a chunk
 * redone after a crash was rolled back whole with its archive rows. Speculative
 * insertion made the archive cost markedly more than the baseline's plain insert.
 * Past batch ledgers stay readable: batch_items has no foreign key to contacts and
 * keeps its own phone/name snapshot.
 */
export function deleteChunkSql(ex: Executor, batchId: string, target: Fragment): PendingQuery<ChunkResult[]> {
	const q = sql();
	return chunkSql(
		ex,
		batchId,
		target,
		q`changed as (
		delete from contacts c where c.id = any(array(select id from target))
		returning c.id, c.phone_e164, c.name, c.tags, c.attributes, c.source, c.opted_out_at, c.created_at
	),
	archived as (
		insert into deleted_contacts (batch_id, contact_id, phone_e164, name, tags, attributes, source, opted_out_at, created_at)
		select ${batchId}::uuid, id, phone_e164, name, tags, attributes, source, opted_out_at, created_at from changed
	)`
	);
}
