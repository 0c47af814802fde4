/**
 * Pure helpers for import cells, without zod: the normalise threads load only these.
 * Client-safe.
 */

export const NAME_MAX = 200;
export const ATTRIBUTE_KEY_MAX = 64;
export const ATTRIBUTE_VALUE_MAX = 1000;
/** Attribute keys per contact: each key is a JSON key every filter and render walks. */
export const ATTRIBUTES_MAX = 100;
/** Columns of an import's header, and characters per header cell: the header is stored with the batch. */
export const HEADER_MAX_COLUMNS = 500;
export const HEADER_CELL_MAX = 200;
/** A CSV line longer than this is refused at upload (a runaway quote or a binary blob). */
export const LINE_MAX_BYTES = 1024 * 1024;

/** What a CSV column becomes. */
export type ColumnTarget = 'phone' | 'name' | 'tags' | 'ignore' | `attribute.${string}`;

/** The first line of a CSV text (the header), as the upload reads it: up to the first LF, else the first CR. */
export function headerLine(text: string): string {
	const lf = text.indexOf('\n');
	const cr = text.indexOf('\r');
	return text.slice(0, lf !== -1 ? lf : cr !== -1 ? cr : text.length).replace(/\r$/, '');
}

/**
 * The delimiter of a header line: the most frequent of , ; and tab outside quotes
 * (comma when none). The upload and the browser's preview both split by it.
 */
export function detectDelimiter(line: string): string {
	const counts: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
	let quoted = false;
	for (const ch of line) {
		if (ch === '"') quoted = !quoted;
		else if (!quoted && ch in counts) counts[ch]++;
	}
	let best = ',';
	for (const d of [';', '\t']) if (counts[d] > counts[best]) best = d;
	return best;
}

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
