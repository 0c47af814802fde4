import type { AuditEntry } from './list';

export const AUDIT_CSV_HEADER = ['at', 'actor_id', 'actor_email', 'token_id', 'token_name', 'action', 'target_type', 'target_id', 'ip', 'details'];

/**
 * One CSV cell (RFC 4180 quoting). A value a spreadsheet would run as a formula (=, +, -,
 * @, tab or CR first) gets a leading apostrophe: emails, token names and details are
 * typed by users, and the export is opened by admins.
 */
export function csvCell(v: unknown): string {
	let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : String(v);
	if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
	return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(cells: unknown[]): string {
	return cells.map(csvCell).join(',') + '\r\n';
}

export function auditCsvLine(e: AuditEntry): string {
	return csvLine([
		e.at,
		e.actor.id,
		e.actor.email,
		e.actor.tokenId,
		e.actor.tokenName,
		e.action,
		e.target.type,
		e.target.id,
		e.ip,
		JSON.stringify(e.details)
	]);
}
