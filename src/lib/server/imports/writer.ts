import type { ReservedSql } from 'postgres';
import { sql } from '../db/client';
import type { StagedRow } from './records';

export type ChunkCounts = { created: number; updated: number; duplicate: number; invalid: number };

/** COPY text format: backslash, tab, newline and CR are escaped; \N is NULL. */
function copyEscape(v: string): string {
	return /[\\\t\n\r]/.test(v)
		? v.replace(/[\\\t\n\r]/g, (m) => (m === '\\' ? '\\\\' : m === '\t' ? '\\t' : m === '\n' ? '\\n' : '\\r'))
		: v;
}

function arrayLiteral(items: string[]): string {
	if (items.length === 0) return '{}';
	let out = '{';
	for (let i = 0; i < items.length; i++) {
		if (i) out += ',';
		out += `"${items[i].replace(/["\\]/g, '\\$&')}"`;
	}
	return `${out}}`;
}

/** The staged rows as COPY text. Built in Node while Postgres works on the previous chunk. */
export function encodeChunk(rows: StagedRow[]): string {
	const lines: string[] = new Array(rows.length);
	for (let i = 0; i < rows.length; i++) {
		const r = rows[i];
		lines[i] =
			`${r.row}\t${r.phone ?? '\\N'}\t${r.name === null ? '\\N' : copyEscape(r.name)}\t` +
			`${copyEscape(arrayLiteral(r.tags))}\t${r.attributes ? copyEscape(JSON.stringify(r.attributes)) : '\\N'}\t` +
			// Raw cells only for rows Node already knows will not go in (invalid, repeated in the
			// file): serialising them for every row cost ~10% of the import's CPU.
			`${r.outcome === 'invalid' || r.outcome === 'duplicate' ? copyEscape(JSON.stringify(r.raw)) : '\\N'}\t` +
			`${r.outcome ?? '\\N'}\t${r.reason === null ? '\\N' : copyEscape(r.reason)}\n`;
	}
	return lines.join('');
}

export type WriterOptions = { batchId: string; skipDuplicates: boolean; source: string | null };

/**
 * Writes import chunks through one reserved connection: COPY into a session temp
 * table, then one INSERT … ON CONFLICT for the contacts and the ledger, and the batch
 * counters, all in one transaction per chunk. A chunk is all-or-nothing, and the
 * counter update only applies while the batch is still PROCESSING: a cancel that
 * committed first rolls the chunk back, so nothing lands after a cancel.
 */
export class ChunkWriter {
	private constructor(
		private readonly conn: ReservedSql,
		private readonly opts: WriterOptions
	) {}

	static async open(opts: WriterOptions): Promise<ChunkWriter> {
		const conn = await sql().reserve();
		try {
			// Temp tables skip the WAL; text raw is cast to jsonb only for the rows the ledger keeps.
			await conn.unsafe(`create temp table if not exists import_stage (
				row_number int not null, phone text, name text, tags text[] not null,
				attributes jsonb, raw text, outcome text, reason text
			) on commit delete rows`);
		} catch (e) {
			conn.release();
			throw e;
		}
		return new ChunkWriter(conn, opts);
	}

	/**
	 * Writes one chunk. Returns its counts, or null when the batch is no longer
	 * PROCESSING (cancelled): then nothing of the chunk was written.
	 */
	async write(rowCount: number, copyText: string, lastRow: number): Promise<ChunkCounts | null> {
		const { conn } = this;
		for (let attempt = 1; ; attempt++) {
			try {
				await conn.unsafe('begin');
				const counts = await this.writeInTransaction(copyText, rowCount, lastRow);
				if (!counts) {
					await conn.unsafe('rollback');
					return null;
				}
				await conn.unsafe('commit');
				return counts;
			} catch (e) {
				await conn.unsafe('rollback').catch(() => {});
				const code = (e as { code?: string }).code;
				// Two imports upserting overlapping phones in different orders can deadlock; the chunk is retried whole.
				if ((code === '40P01' || code === '40001') && attempt < 5) continue;
				throw e;
			}
		}
	}

	private async writeInTransaction(copyText: string, n: number, lastRow: number): Promise<ChunkCounts | null> {
		const { conn, opts } = this;
		const copy = await conn
			.unsafe('copy import_stage (row_number, phone, name, tags, attributes, raw, outcome, reason) from stdin')
			.writable();
		await new Promise<void>((resolve, reject) => {
			copy.on('error', reject);
			copy.on('finish', resolve);
			copy.end(copyText);
		});
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
		const unchanged = opts.skipDuplicates ? 'already in contacts' : 'already in contacts, nothing to update';
		// Phones sorted: two imports of overlapping files then take row locks in the same order.
		const [counts] = await conn.unsafe<ChunkCounts[]>(
			`with ins as (
				insert into contacts (phone_e164, name, tags, attributes, source)
				select phone, name, tags, coalesce(attributes, '{}'::jsonb), $2::text
				from import_stage where outcome is null order by phone
				on conflict (phone_e164) ${onConflict}
				returning id, phone_e164, (xmax = 0) as inserted
			), ledger as (
				insert into import_rows (batch_id, row_number, outcome, reason, raw, contact_id)
				select $1::uuid, s.row_number,
					coalesce(s.outcome, case when i.id is null then 'duplicate' else 'updated' end),
					coalesce(s.reason, case when i.id is null then $3::text end),
					s.raw::jsonb,
					coalesce(i.id, c.id)
				from import_stage s
				left join ins i on s.outcome is null and i.phone_e164 = s.phone
				left join lateral (
					select id from contacts where s.phone is not null and i.id is null and phone_e164 = s.phone
				) c on true
				where i.inserted is not true
				returning outcome
			)
			select
				(select count(*) from ins where inserted)::int as created,
				(select count(*) from ledger where outcome = 'updated')::int as updated,
				(select count(*) from ledger where outcome = 'duplicate')::int as duplicate,
				(select count(*) from ledger where outcome = 'invalid')::int as invalid`,
			[opts.batchId, opts.source, unchanged]
		);
		const [batch] = await conn.unsafe(
			`update batch_operations set
				processed_count = processed_count + $2,
				success_count = success_count + $3 + $4,
				skipped_count = skipped_count + $5,
				failed_count = failed_count + $6,
				result = result || jsonb_build_object(
					'created', coalesce((result->>'created')::int, 0) + $3,
					'updated', coalesce((result->>'updated')::int, 0) + $4,
					'duplicate', coalesce((result->>'duplicate')::int, 0) + $5,
					'invalid', coalesce((result->>'invalid')::int, 0) + $6,
					'lastRow', $7::int),
				total_count = greatest(total_count, processed_count + $2),
				updated_at = now()
			where id = $1 and status = 'PROCESSING'
			returning id`,
			[opts.batchId, n, counts.created, counts.updated, counts.duplicate, counts.invalid, lastRow]
		);
		return batch ? counts : null;
	}

	async close() {
		await this.conn.unsafe('drop table if exists import_stage').catch(() => {});
		this.conn.release();
	}
}
