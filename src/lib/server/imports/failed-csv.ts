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
	const line = (cells: string[]) => Papa.unparse([cells.map(escapeCell)], { newline: '\r\n' }) + '\r\n';

	const cursor = sql()<{ row_number: number; raw: string[] | null; reason: string | null }[]>`
		select row_number, raw, reason from import_rows
		where batch_id = ${batchId} and outcome = any(${outcomes}::text[])
		order by row_number`.cursor(2000);

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
				const raw = r.raw ?? [];
				const all = Array.from({ length: Math.max(width, raw.length) }, (_, i) => raw[i] ?? '');
				const cells = kept.length === width ? all : [...kept.map((i) => all[i]), ...all.slice(width)];
				text += line([String(r.row_number), ...cells, r.reason ?? '']);
			}
			controller.enqueue(encoder.encode(text));
		},
		async cancel() {
			await iterator.return?.();
		}
	});
}
