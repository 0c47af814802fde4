import {
	ATTRIBUTE_VALUE_MAX,
	NAME_MAX,
	splitTags,
	unescapeCell,
	type ColumnTarget
} from '../../schemas/import-cells';
// Type-only: erased at runtime, so the normalise threads still load no zod.
import type { ImportContact } from '../../schemas/import';
import { e164Key, normalisePhone } from '../contacts/phone';

/** Outcomes decided in Node before Postgres sees a row (the rest are decided by the upsert). */
export type PresetOutcome = 'invalid' | 'duplicate' | 'updated';

/** One import row on its way to the staging table. */
export type StagedRow = {
	row: number;
	phone: string | null;
	name: string | null;
	tags: string[];
	attributes: Record<string, string> | null;
	/** The original cells, kept for the failed-rows download. */
	raw: string[];
	outcome: PresetOutcome | null;
	reason: string | null;
};

export type RowOptions = { defaultCountry?: string; batchTags: string[] };

const TAG_MAX = 64;

function invalid(row: number, raw: string[], reason: string): StagedRow {
	return { row, phone: null, name: null, tags: [], attributes: null, raw, outcome: 'invalid', reason };
}

function withBatchTags(tags: string[], batchTags: string[]): string[] {
	if (batchTags.length === 0) return tags;
	const out = tags.slice();
	for (const t of batchTags) if (!out.includes(t)) out.push(t);
	return out;
}

/**
 * A cell, trimmed and unescaped ('' past the end). Top-level on purpose: a closure
 * made per row cost a function object and, under tsx's keepNames, a defineProperty
 * call per row.
 */
function cellAt(cells: string[], i: number): string {
	return i >= 0 && i < cells.length ? unescapeCell(cells[i].trim()) : '';
}

/**
 * Builds the function that turns one CSV record into a staged row under a column
 * mapping. Returns null for blank rows (skipped without counting, as spreadsheets
 * leave them). Cells escaped by our own failed-rows download are taken back.
 */
export function csvRowReader(mapping: ColumnTarget[], opts: RowOptions) {
	const phoneCol = mapping.indexOf('phone');
	const nameCol = mapping.indexOf('name');
	const tagCols = mapping.flatMap((m, i) => (m === 'tags' ? [i] : []));
	const attrCols = mapping.flatMap((m, i) => (m.startsWith('attribute.') ? [[i, m.slice(10)] as const] : []));
	const width = mapping.length;

	return (cells: string[], row: number): StagedRow | null => {
		let blank = true;
		for (let i = 0; i < cells.length; i++) {
			if (cells[i].trim() !== '') {
				blank = false;
				break;
			}
		}
		if (blank) return null;
		const raw = cells;
		if (cells.length > width) {
			// Trailing empty cells (a trailing delimiter) are harmless; real extra values are not.
			for (let i = width; i < cells.length; i++) {
				if (cells[i].trim() !== '') return invalid(row, raw, `row has ${cells.length} cells but the header has ${width}`);
			}
		}
		const phone = normalisePhone(cellAt(cells, phoneCol), opts.defaultCountry);
		if (!phone.ok) return invalid(row, raw, phone.reason);
		const name = nameCol >= 0 ? cellAt(cells, nameCol) : '';
		if (name.length > NAME_MAX) return invalid(row, raw, `name is longer than ${NAME_MAX} characters`);
		let tags: string[] = [];
		for (const c of tagCols) for (const t of splitTags(cellAt(cells, c))) if (!tags.includes(t)) tags.push(t);
		const longTag = tags.find((t) => t.length > TAG_MAX);
		if (longTag) return invalid(row, raw, `tag "${longTag.slice(0, 20)}…" is longer than ${TAG_MAX} characters`);
		tags = withBatchTags(tags, opts.batchTags);
		let attributes: Record<string, string> | null = null;
		for (const [i, key] of attrCols) {
			const v = cellAt(cells, i);
			if (!v) continue;
			if (v.length > ATTRIBUTE_VALUE_MAX) return invalid(row, raw, `${key} is longer than ${ATTRIBUTE_VALUE_MAX} characters`);
			(attributes ??= {})[key] = v;
		}
		return { row, phone: phone.e164, name: name || null, tags, attributes, raw, outcome: null, reason: null };
	};
}

/** The header of a JSON import's failed-rows download. */
export const JSON_HEADER = ['phone', 'name', 'tags', 'attributes'];

const noNul = (s: string) => (s.includes('\u0000') ? s.replace(/\u0000/g, '') : s);

/** A batch.import contact as a staged row (zod already checked its shape). Row numbers start at 1. */
export function jsonRow(c: ImportContact, row: number, opts: RowOptions): StagedRow {
	const raw = [noNul(c.phoneE164), noNul(c.name ?? ''), (c.tags ?? []).join(','), c.attributes ? JSON.stringify(c.attributes) : ''];
	const phone = normalisePhone(raw[0], opts.defaultCountry);
	if (!phone.ok) return invalid(row, raw, phone.reason);
	const tags = withBatchTags(
		(c.tags ?? []).map((t) => noNul(t.trim())).filter((t, i, a) => t && a.indexOf(t) === i),
		opts.batchTags
	);
	let attributes: Record<string, string> | null = null;
	for (const [k, v] of Object.entries(c.attributes ?? {})) if (v !== '') (attributes ??= {})[noNul(k)] = noNul(v);
	const name = raw[1].trim();
	return { row, phone: phone.e164, name: name || null, tags, attributes, raw, outcome: null, reason: null };
}

/**
 * phone → first row, as an open-addressing hash table over typed arrays: E.164 fits a
 * double exactly, so 1M phones take 24 MB and no garbage, where a Map of 1M number
 * keys allocates a heap number per key and cost the importer ~10% of its CPU in GC.
 */
class PhoneRows {
	private keys = new Float64Array(1 << 16);
	private rows = new Int32Array(1 << 16);
	private size = 0;
	private readonly long = new Map<string, number>();

	private slot(keys: Float64Array, k: number): number {
		const mask = keys.length - 1;
		let i = (Math.imul((k % 0x80000000) ^ Math.floor(k / 0x80000000), 0x9e3779b1) >>> 0) & mask;
		while (keys[i] !== 0 && keys[i] !== k) i = (i + 1) & mask;
		return i;
	}

	get(key: number | string): number | undefined {
		if (typeof key === 'string') return this.long.get(key);
		const i = this.slot(this.keys, key);
		return this.keys[i] === 0 ? undefined : this.rows[i];
	}

	set(key: number | string, row: number) {
		if (typeof key === 'string') return void this.long.set(key, row);
		if ((this.size + 1) * 2 > this.keys.length) this.grow();
		const i = this.slot(this.keys, key);
		if (this.keys[i] === 0) this.size++;
		this.keys[i] = key;
		this.rows[i] = row;
	}

	private grow() {
		const { keys, rows } = this;
		this.keys = new Float64Array(keys.length * 2);
		this.rows = new Int32Array(keys.length * 2);
		for (let j = 0; j < keys.length; j++) {
			if (keys[j] === 0) continue;
			const i = this.slot(this.keys, keys[j]);
			this.keys[i] = keys[j];
			this.rows[i] = rows[j];
		}
	}
}

/**
 * Duplicates inside one file, keyed by E.164 as a number (see PhoneRows). Rows of the chunk being built
 * are kept so that, when duplicates update, a repeated phone merges into the staged
 * row: one INSERT … ON CONFLICT DO UPDATE cannot touch the same contact twice.
 */
export class FileDuplicates {
	private firstRow = new PhoneRows();
	private inChunk = new Map<number | string, StagedRow>();

	constructor(private readonly skipDuplicates: boolean) {}

	/** Marks `r` as a duplicate (or merges it) when its phone came earlier in the file. */
	check(r: StagedRow): void {
		if (r.outcome !== null || r.phone === null) return;
		const key = e164Key(r.phone);
		const first = this.firstRow.get(key);
		if (first === undefined) {
			this.firstRow.set(key, r.row);
			// Skip mode never merges: no need to remember the chunk's rows.
			if (!this.skipDuplicates) this.inChunk.set(key, r);
			return;
		}
		if (this.skipDuplicates) {
			r.outcome = 'duplicate';
			r.reason = `same phone as row ${first}`;
			return;
		}
		const staged = this.inChunk.get(key);
		if (staged) {
			if (r.name) staged.name = r.name;
			if (r.attributes) staged.attributes = { ...(staged.attributes ?? {}), ...r.attributes };
			for (const t of r.tags) if (!staged.tags.includes(t)) staged.tags.push(t);
			r.outcome = 'updated';
			r.reason = `merged into row ${staged.row} (same phone)`;
			return;
		}
		// First seen in an earlier chunk: the upsert merges it into that contact.
		r.reason = `same phone as row ${first}`;
		this.inChunk.set(key, r);
	}

	/**
	 * A row an earlier run already committed (a resume): later rows with its phone are
	 * repeats of it, but nothing merges into it, as it is not sent again.
	 */
	remember(r: StagedRow): void {
		if (r.outcome !== null || r.phone === null) return;
		const key = e164Key(r.phone);
		if (this.firstRow.get(key) === undefined) this.firstRow.set(key, r.row);
	}

	/** Called when a chunk has been handed to Postgres. */
	endChunk() {
		this.inChunk.clear();
	}
}
