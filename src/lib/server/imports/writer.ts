import type { Sql } from 'postgres';
import type { StagedRow } from './records';

export type ChunkCounts = { created: number; updated: number; duplicate: number; invalid: number };

/**
 * A chunk as one text parameter: a line per row, fields split by tabs, which the
 * statement takes apart with string_to_table + split_part. Measured here for a 10k-row
 * chunk: Postgres unpacks this in ~10 ms where jsonb_to_recordset of the same rows
 * took ~47 ms, and Postgres (not Node) is where the import waits. Building the lines
 * costs Node ~7 ms more than one JSON.stringify.
 *
 * Fields: row, phone, name, tags (array literal), attributes (JSON), raw cells (JSON,
 * only for rows Node already knows will not go in: the ones a failed-rows download
 * needs), outcome, reason. An empty field is null. JSON never holds a raw tab or
 * newline; free text (name, tags, reason) goes through oneLine.
 */
export function encodeRow(r: StagedRow): string {
	const failed = r.outcome === 'invalid' || r.outcome === 'duplicate';
	return (
		r.row +
		'\t' +
		(r.phone ?? '') +
		'\t' +
		(r.name === null ? '' : oneLine(r.name)) +
		'\t' +
		oneLine(arrayLiteral(r.tags)) +
		'\t' +
		(r.attributes ? JSON.stringify(r.attributes) : '') +
		'\t' +
		(failed ? JSON.stringify(r.raw) : '') +
		'\t' +
		(r.outcome ?? '') +
		'\t' +
		(r.reason === null ? '' : oneLine(r.reason)) +
		'\n'
	);
}

/**
 * The rows of the chunk being built. In skip mode each row is encoded as it comes and
 * its line written into one reused byte buffer: holding 10k row objects (or 10k line
 * strings, each a rope of ~16 pieces) until the chunk was full made them survive
 * young-generation GCs, and the garbage collector took a third of the importer's CPU.
 * In update mode a later row with the same phone merges into a staged row of the same
 * chunk (FileDuplicates), so rows are kept and encoded when the chunk is sent.
 */
export class ChunkBuffer {
	private bytes = Buffer.allocUnsafe(1 << 20);
	private used = 0;
	private rows: StagedRow[] = [];
	private pending = '';
	private pendingRows = 0;
	private count = 0;
	firstRow = 0;
	lastRow = 0;

	constructor(private readonly keepRows: boolean) {}

	get size(): number {
		return this.count;
	}

	add(r: StagedRow) {
		if (this.keepRows) this.rows.push(r);
		else {
			// Lines go to the buffer 64 at a time: one Buffer#write per line was ~0.5 µs of
			// call overhead each; a few dozen short-lived lines are cheap for the young GC.
			this.pending += encodeRow(r);
			if (++this.pendingRows === 64) this.flushPending();
		}
		if (this.count++ === 0) this.firstRow = r.row;
		this.lastRow = r.row;
	}

	/** The chunk's text; empties the buffer (its memory is reused for the next chunk). */
	take(): string {
		if (this.keepRows) for (const r of this.rows) this.write(encodeRow(r));
		this.flushPending();
		const text = this.bytes.toString('utf8', 0, this.used);
		this.used = 0;
		this.count = 0;
		this.rows = [];
		return text;
	}

	private flushPending() {
		if (this.pendingRows === 0) return;
		this.write(this.pending);
		this.pending = '';
		this.pendingRows = 0;
	}

	private write(line: string) {
		// A UTF-16 code unit never takes more than 3 bytes in UTF-8.
		if (this.used + line.length * 3 > this.bytes.length) {
			const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + line.length * 3));
			this.bytes.copy(bigger, 0, 0, this.used);
			this.bytes = bigger;
		}
		this.used += this.bytes.write(line, this.used);
	}
}

const LINE_BREAKING = /[\t\n\r]/;
const LINE_BREAKING_ALL = /\r\n|[\t\n\r]/g;

/**
 * Free text (name, tags, reason) on one line of the chunk: tabs and line breaks become
 * spaces. A contact's name or tag is one line of text; escaping them instead cost a
 * replace chain per field in SQL. Attributes and the original cells travel as JSON,
 * which keeps them exactly as written.
 */
export function oneLine(s: string): string {
	return LINE_BREAKING.test(s) ? s.replace(LINE_BREAKING_ALL, ' ') : s;
}

const ARRAY_SPECIAL = /[",\\{}\s]/;
const NULL_WORD = /^null$/i;

/** A text[] literal: elements quoted only when they must be (NULL, specials, empty). */
export function arrayLiteral(items: string[]): string {
	if (items.length === 0) return '{}';
	let s = '{';
	for (let i = 0; i < items.length; i++) {
		const x = items[i];
		if (i) s += ',';
		s += x === '' || ARRAY_SPECIAL.test(x) || (x.length === 4 && NULL_WORD.test(x)) ? `"${x.replace(/["\\]/g, '\\$&')}"` : x;
	}
	return s + '}';
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
	constructor(private readonly opts: WriterOptions) {}

	/**
	 * Writes one chunk: rows firstRow..lastRow. Returns its counts, or null when the batch
	 * is no longer PROCESSING (cancelled, paused): then nothing of the chunk was written.
	 * `on` is the client to send on (ChunkPipeline: the import connections).
	 */
	async write(chunkText: string, firstRow: number, lastRow: number, on: Sql): Promise<ChunkCounts | null> {
		const { opts } = this;
		const unchanged = opts.skipDuplicates ? 'already in contacts' : 'already in contacts, nothing to update';
		// Skip mode leaves existing contacts alone. Update mode sets name/attributes and
		// merges tags, and only when something changes: an unchanged row is a duplicate,
		// and re-importing a file writes no dead tuples.
		const onConflict = opts.skipDuplicates
			? on`do nothing`
			: on`do update set
				name = coalesce(excluded.name, contacts.name),
				attributes = contacts.attributes || excluded.attributes,
				tags = contacts.tags || array(select unnest(excluded.tags) except select unnest(contacts.tags)),
				updated_at = now()
			where (contacts.name is distinct from coalesce(excluded.name, contacts.name))
				or not (contacts.attributes @> excluded.attributes)
				or not (contacts.tags @> excluded.tags)`;
		// Update mode keeps what each updated row overwrote, for an undo: the contacts as
		// this statement's snapshot has them, i.e. before its own upsert (every part of one
		// statement sees the same snapshot). Only the rows the upsert changed are read.
		const keepPrevious = opts.skipDuplicates
			? on``
			: on`, old as (
				select c.id, c.name, c.tags, c.attributes from contacts c
				where c.id = any(array(select id from ins where not inserted))
			)`;
		const prevColumns = opts.skipDuplicates ? on`null, null::text[], null::jsonb` : on`o.name, o.tags, o.attributes`;
		const prevJoin = opts.skipDuplicates ? on`` : on`
				left join old o on o.id = i.id`;
		const [row] = await on<(ChunkCounts & { applied: number })[]>`
			with b as (
				-- Only while PROCESSING. FOR KEY SHARE: chunks on both lanes run at once, and
				-- a pause or cancel (which locks the row FOR UPDATE first) waits for them;
				-- a chunk starting after it committed re-reads the row and writes nothing.
				select id from batch_operations where id = ${opts.batchId} and status = 'PROCESSING' for key share
			), s as (
				-- split_part per field: measured faster here than string_to_array (whose
				-- arrays, materialised, cost 3x) and ~5x faster than jsonb_to_recordset.
				select split_part(l, E'\\t', 1)::int as r,
					nullif(split_part(l, E'\\t', 2), '') as p,
					nullif(split_part(l, E'\\t', 3), '') as n,
					split_part(l, E'\\t', 4)::text[] as t,
					nullif(split_part(l, E'\\t', 5), '')::jsonb as a,
					nullif(split_part(l, E'\\t', 6), '')::jsonb as w,
					nullif(split_part(l, E'\\t', 7), '') as o,
					nullif(split_part(l, E'\\t', 8), '') as e
				from b, string_to_table(${chunkText}::text, E'\\n') l
				where l <> ''
			), ins as (
				-- Phones sorted: two imports of overlapping files take row locks in the same order.
				insert into contacts (phone_e164, name, tags, attributes, source)
				select p, n, coalesce(t, '{}'), coalesce(a, '{}'::jsonb), ${opts.source}::text from s where o is null order by p
				on conflict (phone_e164) ${onConflict}
				returning id, phone_e164, (xmax = 0) as inserted
			), done as (
				-- This chunk's rows, for a resume; the key refuses the same chunk twice. With the
				-- ids it created and its time (the default now()), which an undo of the import needs.
				insert into import_chunks (batch_id, first_row, last_row, created_ids)
				select id, ${firstRow}::int, ${lastRow}::int, array(select id from ins where inserted) from b
			)${keepPrevious}, ledger as (
				insert into import_rows (batch_id, row_number, outcome, reason, raw, contact_id, prev_name, prev_tags, prev_attributes, written_at)
				select ${opts.batchId}::uuid, s.r,
					coalesce(s.o, case when i.id is null then 'duplicate' else 'updated' end),
					coalesce(s.e, case when i.id is null then ${unchanged}::text end),
					s.w,
					coalesce(i.id, c.id),
					${prevColumns},
					case when i.id is not null then now() end
				from s
				left join ins i on s.o is null and i.phone_e164 = s.p${prevJoin}
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
						'invalid', coalesce((bo.result->>'invalid')::int, 0) + c.invalid),
					total_count = greatest(bo.total_count, bo.processed_count + c.n),
					updated_at = now()
				from counts c, b
				where bo.id = b.id
				returning bo.id
			)
			-- Asynchronous commit: a crash loses at most the last chunks whole (rows, counts
			-- and import_chunks commit together) and the retried job redoes them; waiting for a
			-- WAL flush per chunk was ~1 s of a 1M-row import.
			select c.created, c.updated, c.duplicate, c.invalid, (select count(*) from upd)::int as applied,
				set_config('synchronous_commit', 'off', true) as async_commit
			from counts c`;
		if (!row.applied) return null;
		return { created: row.created, updated: row.updated, duplicate: row.duplicate, invalid: row.invalid };
	}
}

/** Two imports upserting overlapping phones can deadlock; such a chunk is sent again. */
export function isRetryable(e: unknown): boolean {
	const code = (e as { code?: string }).code;
	return code === '40P01' || code === '40001';
}
