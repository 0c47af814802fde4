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
 * Repeated phones inside one chunk, keyed by E.164 as a number where it fits
 * (e164Key). Only the chunk being built is remembered: a phone repeated in a later
 * chunk is left to Postgres, whose upsert finds the contact the earlier chunk wrote
 * (skip mode: a duplicate, "already in contacts"; update mode: merged into it). An
 * earlier version kept every phone of the file in a hash table, which at 10M rows
 * held ~400 MB (and twice that while it grew) in the worker; the unique index already
 * holds the same thing. Within a chunk Node must still decide: one INSERT … ON
 * CONFLICT DO UPDATE cannot touch the same contact twice, so a repeated phone merges
 * into the staged row (update mode), or is a duplicate of it (skip mode).
 */
export class FileDuplicates {
	private inChunk = new Map<number | string, StagedRow>();

	constructor(private readonly skipDuplicates: boolean) {}

	/** Marks `r` as a duplicate (or merges it) when its phone came earlier in the chunk. */
	check(r: StagedRow): void {
		if (r.outcome !== null || r.phone === null) return;
		const key = e164Key(r.phone);
		const staged = this.inChunk.get(key);
		if (staged === undefined) {
			this.inChunk.set(key, r);
			return;
		}
		if (this.skipDuplicates) {
			r.outcome = 'duplicate';
			r.reason = `same phone as row ${staged.row}`;
			return;
		}
		if (r.name) staged.name = r.name;
		if (r.attributes) staged.attributes = { ...(staged.attributes ?? {}), ...r.attributes };
		for (const t of r.tags) if (!staged.tags.includes(t)) staged.tags.push(t);
		r.outcome = 'updated';
		r.reason = `merged into row ${staged.row} (same phone)`;
	}

	/** Called when a chunk has been handed to Postgres. */
	endChunk() {
		this.inChunk.clear();
	}
}
