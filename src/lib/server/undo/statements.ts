import type { PendingQuery } from 'postgres';
import { sql, type Executor, type Fragment } from '../db/client';
import { BATCH_CHANNEL, statusPayloadSql } from '../events/publish';

/** What a chunk statement answers (`last` is a bigint: text from the client). */
export type UndoChunkResult = { status: string; matched: number; last: string | null };

/**
 * The one statement per chunk of an UNDO batch, as bulk/statements.ts does for TAG and
 * DELETE: lock the UNDO batch row and go on only while it is PROCESSING (a cancel or
 * pause that committed stops it before the next chunk; one racing this chunk waits for
 * it); do the chunk's work; write the refused rows to the batch's ledger (batch_items,
 * only those: a row per undone contact would double the cost); add the counts, move the
 * cursor and publish, all atomically.
 *
 * `work` defines CTEs `done` (ids put back), `refused` (contact_id, phone, name, code,
 * message: rows left as they are, counted failed) and `gone` (the same, counted skipped),
 * from CTE `target` (which has contact_id).
 */
function chunkSql(ex: Executor, batchId: string, target: Fragment, work: Fragment): PendingQuery<UndoChunkResult[]> {
	const q = sql();
	return ex<UndoChunkResult[]>`with batch as (select status from batch_operations where id = ${batchId}::uuid for update),
	target as (${target}),
	${work},
	items as (
		insert into batch_items (batch_id, contact_id, phone, name, status, attempts, error_code, error_message, updated_at)
		select ${batchId}::uuid, contact_id, phone, name, 'failed', 1, code, message, now() from refused
		union all
		select ${batchId}::uuid, contact_id, phone, name, 'skipped', 1, code, message, now() from gone
	),
	progress as (
		update batch_operations set
			processed_count = processed_count + (select count(*) from target),
			success_count = success_count + (select count(*) from done),
			failed_count = failed_count + (select count(*) from refused),
			skipped_count = skipped_count + (select count(*) from gone),
			result = result || jsonb_build_object('cursor', (select max(contact_id) from target)),
			updated_at = now()
		where id = ${batchId}::uuid and exists (select 1 from target)
		returning *
	)
	select (select status from batch) as status,
		(select count(*) from target)::int as matched,
		(select max(contact_id) from target)::bigint as last,
		(select count(*) from (select pg_notify(${BATCH_CHANNEL}, ${statusPayloadSql(q)}) from progress) n)::int as notified,
		set_config('synchronous_commit', 'off', true) as async_commit`;
}

/**
 * The import's contacts, one per contact, in undo_targets (built by planImportUndo). The
 * chunk takes (and removes) the next rows after the cursor: the list empties as the
 * undo goes, and a chunk redone after a crash was rolled back whole with its removal.
 */
function importTarget(batchId: string, after: number, limit: number): Fragment {
	return sql()`delete from undo_targets t
		where t.batch_id = ${batchId}::uuid
			and t.contact_id = any(array(
				select contact_id from undo_targets where batch_id = ${batchId}::uuid and contact_id > ${after}
				order by contact_id limit ${limit}))
			and (select status from batch) = 'PROCESSING'
		returning t.*`;
}

/**
 * Undoes one chunk of an import: a contact it created is removed, one it updated gets
 * its name, tags and attributes back, each only if its updated_at is still the import's
 * last write of it. One changed since (an edit, a tag batch, a later import) is left
 * as it is and listed; one no longer there is listed as gone. The updated_at test sits
 * in the DELETE/UPDATE's own join: a row changed after this statement's snapshot is
 * re-checked against its new version (READ COMMITTED's recheck) and left alone.
 * Rows are reached by `id = any(array(...))`, an index probe per id (bulk/statements.ts).
 */
export function importUndoChunkSql(ex: Executor, batchId: string, after: number, limit: number): PendingQuery<UndoChunkResult[]> {
	return chunkSql(
		ex,
		batchId,
		importTarget(batchId, after, limit),
		sql()`cur as (
		select t.contact_id, t.created, t.written_at, t.prev_name, t.prev_tags, t.prev_attributes,
			c.id as cid, c.phone_e164 as phone, c.name, c.updated_at
		from target t
		-- LIMIT 1 keeps this an index probe per target: without it the planner flattens the
		-- lateral into a hash join over a sequential scan of all contacts, on every chunk.
		left join lateral (select id, phone_e164, name, updated_at from contacts where id = t.contact_id limit 1) c on true
	),
	removed as (
		delete from contacts c using cur
		where c.id = any(array(select cid from cur where created and updated_at = written_at))
			and cur.cid = c.id and cur.created and c.updated_at = cur.written_at
		returning c.id
	),
	reverted as (
		update contacts c set
			name = cur.prev_name,
			tags = coalesce(cur.prev_tags, '{}'),
			attributes = coalesce(cur.prev_attributes, '{}'::jsonb),
			updated_at = now()
		from cur
		where c.id = any(array(select cid from cur where not created and updated_at = written_at))
			and cur.cid = c.id and not cur.created and c.updated_at = cur.written_at
		returning c.id
	),
	done as (select id from removed union all select id from reverted),
	refused as (
		select cur.contact_id, cur.phone, cur.name, 'changed_since' as code,
			'Changed since the import (updated ' || to_char(cur.updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC): left as it is.' as message
		from cur
		where cur.cid is not null and not exists (select 1 from done d where d.id = cur.cid)
	),
	gone as (
		select cur.contact_id, null::text as phone, null::text as name, 'gone' as code,
			'No longer in contacts: nothing to undo.' as message
		from cur where cur.cid is null
	)`
	);
}

/** The next archived contacts of a DELETE batch after the cursor. */
function deleteTarget(deleteBatchId: string, after: number, limit: number): Fragment {
	return sql()`select d.contact_id, d.phone_e164, d.name, d.tags, d.attributes, d.source, d.opted_out_at, d.created_at
		from deleted_contacts d
		where d.batch_id = ${deleteBatchId}::uuid and d.contact_id > ${after}
			and (select status from batch) = 'PROCESSING'
		order by d.contact_id limit ${limit}`;
}

/**
 * Restores one chunk of a DELETE batch's archive whole (name, tags, attributes, source,
 * opt-out, created_at) under its old id; the id is taken only if something put a
 * contact there since, then the contact gets a new one. A phone that belongs to another
 * contact now (imported again meanwhile) is refused and listed. A plain insert, no ON
 * CONFLICT (speculative insertion is the costly part of such inserts, bulk/statements.ts):
 * a writer taking one of the phones while this statement runs makes it fail whole, and
 * the job's retry then finds the phone taken and refuses that row. The archive rows stay
 * (they are purged with the batch's retention).
 */
export function deleteRestoreChunkSql(
	ex: Executor,
	batchId: string,
	deleteBatchId: string,
	after: number,
	limit: number
): PendingQuery<UndoChunkResult[]> {
	return chunkSql(
		ex,
		batchId,
		deleteTarget(deleteBatchId, after, limit),
		sql()`cur as (
		select t.*, o.id as owner
		from target t
		-- LIMIT 1: an index probe per target, never a hash join over all contacts (seen in EXPLAIN).
		left join lateral (select id from contacts where phone_e164 = t.phone_e164 limit 1) o on true
	),
	done as (
		insert into contacts (id, phone_e164, name, tags, attributes, source, opted_out_at, created_at, updated_at)
		overriding system value
		select
			case when exists (select 1 from contacts x where x.id = cur.contact_id)
				then nextval(pg_get_serial_sequence('contacts', 'id')) else cur.contact_id end,
			cur.phone_e164, cur.name, cur.tags, cur.attributes, cur.source, cur.opted_out_at, cur.created_at, now()
		from cur where cur.owner is null
		order by cur.phone_e164
		returning id
	),
	refused as (
		select cur.contact_id, cur.phone_e164 as phone, cur.name, 'phone_taken' as code,
			'Phone ' || cur.phone_e164 || ' now belongs to contact ' || cur.owner || ': not restored.' as message
		from cur
		where cur.owner is not null
	),
	gone as (select null::bigint as contact_id, null::text as phone, null::text as name, null::text as code, null::text as message where false)`
	);
}

/**
 * The target list of an import's undo, frozen when the undo starts: every contact the
 * import created (per-chunk arrays) or updated (its `updated` ledger rows), once each.
 * A contact the file named twice (update mode) keeps the earliest row's previous values
 * (what was there before the import) and the latest write (what the import left).
 * A plain insert: it commits with the batch's `planned` mark (undo/run.ts), so it never
 * runs twice; ON CONFLICT DO NOTHING made it twice as slow (measured on 100 000 rows).
 */
export function planImportUndoSql(ex: Executor, batchId: string, importBatchId: string) {
	return ex`insert into undo_targets (batch_id, contact_id, created, written_at, prev_name, prev_tags, prev_attributes)
		select ${batchId}::uuid, contact_id, created, last_written, prev_name, prev_tags, prev_attributes
		from (
			select distinct on (contact_id) contact_id, created, max(written_at) over (partition by contact_id) as last_written,
				prev_name, prev_tags, prev_attributes
			from (
				select unnest(k.created_ids) as contact_id, true as created, k.written_at, 0 as row_number,
					null::text as prev_name, null::text[] as prev_tags, null::jsonb as prev_attributes
				from import_chunks k where k.batch_id = ${importBatchId}::uuid
				union all
				select r.contact_id, false, r.written_at, r.row_number, r.prev_name, r.prev_tags, r.prev_attributes
				from import_rows r
				where r.batch_id = ${importBatchId}::uuid and r.outcome = 'updated' and r.contact_id is not null and r.written_at is not null
			) x
			order by contact_id, created desc, row_number
		) y`;
}
