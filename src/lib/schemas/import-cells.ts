/**
 * Pure helpers for import cells, without zod: the normalise threads load only these.
 * Client-safe.
 */

export const NAME_MAX = 200;
export const ATTRIBUTE_KEY_MAX = 64;
export const ATTRIBUTE_VALUE_MAX = 1000;
/** A CSV line longer than this is refused at upload (a runaway quote or a binary blob). */
export const LINE_MAX_BYTES = 1024 * 1024;

/** What a CSV column becomes. */
export type ColumnTarget = 'phone' | 'name' | 'tags' | 'ignore' | `attribute.${string}`;

/** Splits a tags cell: "vip, beijing" or "vip;beijing" or "vip|beijing". */
export function splitTags(cell: string): string[] {
	if (!cell) return [];
	const out: string[] = [];
	for (const t of cell.split(/[,;|]/)) {
		const tag = t.trim();
		if (tag && !out.includes(tag)) out.push(tag);
	}
	return out;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** Spreadsheet formula injection: a cell starting with = + - @ tab or CR gets a leading quote. */
export function escapeCell(value: string): string {
	return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The importer takes escaped cells back: "'+86 138…" is "+86 138…". */
export function unescapeCell(value: string): string {
	return value.length > 1 && value.charCodeAt(0) === 39 && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}
