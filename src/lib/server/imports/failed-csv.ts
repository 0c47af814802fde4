import Papa from 'papaparse';
import { sql } from '../db/client';
import { notFound } from '../errors';
import { getBatchOrThrow } from '../batches/repository';
import { EXPORT_REASON_COLUMN, EXPORT_ROW_COLUMN, escapeCell } from '../../schemas/import';
import { JSON_HEADER } from './records';
import { storedImportInput } from './create';

export type LedgerOutcome = 'invalid' | 'duplicate' | 'updated';

/**
 * The rows of an import that did not go in, as CSV: import_row, the original cells,
 * import_error. Every cell is escaped against formula injection (a leading ' before
 * = + - @), which the importer strips again, so the fixed file can be uploaded back
 * as is. Streamed from a cursor: a million failed rows never sit in memory.
 *
 * Rows the database found already in contacts were not kept by the writer (Node could
 * not know before the upsert, and keeping every row's cells would double an import's
 * traffic): their cells are rebuilt from that contact through the import's mapping —
 * phone, name, tags, the mapped attributes — and the reason says so, so the file can
 * still be fixed and imported again (e.g. with "update existing" ticked).
 */
export async function failedRowsCsv(batchId: string, outcomes: LedgerOutcome[] = ['invalid']) {
	const batch = await getBatchOrThrow(batchId);
	if (batch.type !== 'IMPORT') throw notFound(`Batch ${batchId} is not an import.`, 'batchId');
	const input = storedImportInput.safeParse(batch.input);
	const fileHeader = input.success && input.data.format === 'csv' ? (input.data.header ?? []) : JSON_HEADER;
	// A re-uploaded export has our own columns already: not repeated, so exporting again gives the same file.
	const ours = new Set<string>([EXPORT_ROW_COLUMN, EXPORT_REASON_COLUMN]);
	const kept = fileHeader.flatMap((h, i) => (ours.has(h.trim().toLowerCase()) ? [] : [i]));
	const header = kept.map((i) => fileHeader[i]);
	const width = fileHeader.length;
	const mapping = input.success && input.data.format === 'csv' ? (input.data.mapping ?? []) : ['phone', 'name', 'tags', 'attributes'];
	type Contact = { phone: string; name: string | null; tags: string[]; attributes: Record<string, unknown> };
	const rebuilt = (c: Contact): string[] =>
		mapping.map((m) => {
			if (m === 'phone') return c.phone;
			if (m === 'name') return c.name ?? '';
			if (m === 'tags') return c.tags.join(',');
			if (m === 'attributes') return Object.keys(c.attributes).length ? JSON.stringify(c.attributes) : '';
			if (m.startsWith('attribute.')) return String(c.attributes[m.slice('attribute.'.length)] ?? '');
			return '';
		});
	const line = (cells: string[]) => Papa.unparse([cells.map(escapeCell)], { newline: '\r\n' }) + '\r\n';

	const cursor = sql()<{ row_number: number; raw: string[] | null; reason: string | null; contact: Contact | null }[]>`
		select r.row_number, r.raw, r.reason,
			case when r.raw is null and c.id is not null then
				json_build_object('phone', c.phone_e164, 'name', c.name, 'tags', c.tags, 'attributes', c.attributes) end as contact
		from import_rows r
		left join contacts c on r.raw is null and c.id = r.contact_id
		where r.batch_id = ${batchId} and r.outcome = any(${outcomes}::text[])
		order by r.row_number`.cursor(2000);

	const encoder = new TextEncoder();
	const iterator = cursor[Symbol.asyncIterator]();
	return new ReadableStream<Uint8Array>({
		start(controller) {
			// A BOM so spreadsheet apps read the file as UTF-8 (the importer skips it).
			controller.enqueue(encoder.encode('\uFEFF' + line([EXPORT_ROW_COLUMN, ...header, EXPORT_REASON_COLUMN])));
		},
		async pull(controller) {
			const next = await iterator.next();
			if (next.done) return controller.close();
			let text = '';
			for (const r of next.value) {
				const raw = r.raw ?? (r.contact ? rebuilt(r.contact) : []);
				const all = Array.from({ length: Math.max(width, raw.length) }, (_, i) => raw[i] ?? '');
				const cells = kept.length === width ? all : [...kept.map((i) => all[i]), ...all.slice(width)];
				const reason = r.raw === null && r.contact ? `${r.reason ?? ''} (cells from the contact as it is now)` : (r.reason ?? '');
				text += line([String(r.row_number), ...cells, reason]);
			}
			controller.enqueue(encoder.encode(text));
		},
		async cancel() {
			await iterator.return?.();
		}
	});
}
