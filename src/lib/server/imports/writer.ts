import { sql } from '../db/client';
import type { StagedRow } from './records';

export type ChunkCounts = { created: number; updated: number; duplicate: number; invalid: number };

/**
 * A chunk as one JSON parameter. JSON.stringify is native: building COPY text row by
 * row in JavaScript cost several times more, and CPU in Node is the import's bottleneck.
 * Raw cells go along only for rows Node already knows will not go in (invalid,
 * repeated in the file), the ones a failed-rows download needs.
 */
export function encodeChunk(rows: StagedRow[]): string {
	const out = new Array(rows.length);
	for (let i = 0; i < rows.length; i++) {
		const r = rows[i];
		out[i] = {
			r: r.row,
			p: r.phone ?? undefined,
			n: r.name ?? undefined,
			t: r.tags,
			a: r.attributes ?? undefined,
			w: r.outcome === 'invalid' || r.outcome === 'duplicate' ? r.raw : undefined,
			o: r.outcome ?? undefined,
			e: r.reason ?? undefined
		};
	}
	return JSON.stringify(out);
}

export type WriterOptions = { batchId: string; skipDuplicates: boolean; source: string | null };

/**
 * Writes import chunks, each in ONE statement (so one round trip, and atomic): lock
 * the batch row if it is still PROCESSING, unpack the chunk, upsert the contacts,
 * write the ledger rows of everything that did not simply go in, and add the counts
 * to the batch. A cancel that committed first leaves the batch not PROCESSING: the
 * chunk then writes nothing. A cancel arriving during the chunk waits for it.
 * One round trip per chunk also means Postgres never waits for Node between steps
 * while Node normalises the next chunk.
 */
export class ChunkWriter {
	private readonly statement: string;

	constructor(private readonly opts: WriterOptions) {
		// Skip mode leaves existing contacts alone. Update mode sets name/attributes and
		// merges tags, and only when something changes: an unchanged row is a duplicate,
		// and re-importing a file writes no dead tuples.
		const onConflict = opts.skipDuplicates
			? 'do nothing'
			: `do update set
				name = coalesce(excluded.name, contacts.name),
				attributes = contacts.attributes || excluded.attributes,
				tags = contacts.tags || array(select unnest(excluded.tags) except select unnest(contacts.tags)),
				updated_at = now()
			where (contacts.name is distinct from coalesce(excluded.name, contacts.name))
				or not (contacts.attributes @> excluded.attributes)
				or not (contacts.tags @> excluded.tags)`;
		this.statement = `
			with b as (
				select id from batch_operations where id = $1 and status = 'PROCESSING' for update
			), s as materialized (
				select x.* from b, jsonb_to_recordset($2::jsonb)
					as x(r int, p text, n text, t text[], a jsonb, w jsonb, o text, e text)
			), ins as (
				-- Phones sorted: two imports of overlapping files take row locks in the same order.
				insert into contacts (phone_e164, name, tags, attributes, source)
				select p, n, coalesce(t, '{}'), coalesce(a, '{}'::jsonb), $3::text from s where o is null order by p
				on conflict (phone_e164) ${onConflict}
				returning id, phone_e164, (xmax = 0) as inserted
			), ledger as (
				insert into import_rows (batch_id, row_number, outcome, reason, raw, contact_id)
				select $1::uuid, s.r,
					coalesce(s.o, case when i.id is null then 'duplicate' else 'updated' end),
					coalesce(s.e, case when i.id is null then $4::text end),
					s.w,
					coalesce(i.id, c.id)
				from s
				left join ins i on s.o is null and i.phone_e164 = s.p
				left join lateral (
					select id from contacts where s.p is not null and i.id is null and phone_e164 = s.p
				) c on true
				where i.inserted is not true
				returning outcome
			), counts as (
				select
					(select count(*) from s)::int as n,
					(select count(*) from ins where inserted)::int as created,
					(select count(*) from ledger where outcome = 'updated')::int as updated,
					(select count(*) from ledger where outcome = 'duplicate')::int as duplicate,
					(select count(*) from ledger where outcome = 'invalid')::int as invalid
			), upd as (
				update batch_operations bo set
					processed_count = bo.processed_count + c.n,
					success_count = bo.success_count + c.created + c.updated,
					skipped_count = bo.skipped_count + c.duplicate,
					failed_count = bo.failed_count + c.invalid,
					result = bo.result || jsonb_build_object(
						'created', coalesce((bo.result->>'created')::int, 0) + c.created,
						'updated', coalesce((bo.result->>'updated')::int, 0) + c.updated,
						'duplicate', coalesce((bo.result->>'duplicate')::int, 0) + c.duplicate,
						'invalid', coalesce((bo.result->>'invalid')::int, 0) + c.invalid,
						'lastRow', $5::int),
					total_count = greatest(bo.total_count, bo.processed_count + c.n),
					updated_at = now()
				from counts c, b
				where bo.id = b.id
				returning bo.id
			)
			select c.created, c.updated, c.duplicate, c.invalid, (select count(*) from upd)::int as applied from counts c`;
	}

	/**
	 * Writes one chunk. Returns its counts, or null when the batch is no longer
	 * PROCESSING (cancelled): then nothing of the chunk was written.
	 */
	async write(chunkJson: string, lastRow: number): Promise<ChunkCounts | null> {
		const { opts } = this;
		const unchanged = opts.skipDuplicates ? 'already in contacts' : 'already in contacts, nothing to update';
		for (let attempt = 1; ; attempt++) {
			try {
				const [row] = await sql().unsafe<(ChunkCounts & { applied: number })[]>(this.statement, [
					opts.batchId,
					chunkJson,
					opts.source,
					unchanged,
					lastRow
				]);
				if (!row.applied) return null;
				return { created: row.created, updated: row.updated, duplicate: row.duplicate, invalid: row.invalid };
			} catch (e) {
				const code = (e as { code?: string }).code;
				// Two imports upserting overlapping phones in different orders can deadlock; the statement is retried whole.
				if ((code === '40P01' || code === '40001') && attempt < 5) continue;
				throw e;
			}
		}
	}
}
