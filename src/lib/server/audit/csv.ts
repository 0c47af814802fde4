import { escapeCell } from '../../schemas/import-cells';
import { auditEntries, type AuditEntry } from './list';
import type { AuditFilter } from '../../schemas/audit';

export const AUDIT_CSV_HEADER = ['at', 'actor_id', 'actor_email', 'token_id', 'token_name', 'action', 'target_type', 'target_id', 'ip', 'details'];

/**
 * One CSV cell (RFC 4180 quoting), escaped against formula injection as the import's
 * exports are (escapeCell): emails, token names and details are typed by users, and the
 * file is opened by admins in spreadsheets.
 */
export function csvCell(v: unknown): string {
	const s = escapeCell(v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));
	return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(cells: unknown[]): string {
	return cells.map(csvCell).join(',') + '\r\n';
}

export function auditCsvLine(e: AuditEntry): string {
	return csvLine([e.at, e.actor.id, e.actor.email, e.actor.tokenId, e.actor.tokenName, e.action, e.target.type, e.target.id, e.ip, JSON.stringify(e.details)]);
}

/** The filtered log as CSV, newest first, streamed from a cursor (bounded memory for any length). */
export function auditCsv(filter: AuditFilter): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	const pages = auditEntries(filter);
	return new ReadableStream<Uint8Array>({
		start(controller) {
			// A BOM so spreadsheet apps read the file as UTF-8.
			controller.enqueue(encoder.encode('\uFEFF' + csvLine(AUDIT_CSV_HEADER)));
		},
		async pull(controller) {
			const next = await pages.next();
			if (next.done) return controller.close();
			controller.enqueue(encoder.encode(next.value.map(auditCsvLine).join('')));
		},
		async cancel() {
			await pages.return(undefined);
		}
	});
}
