import { z } from 'zod';
import { text } from './text';
import { tagName } from './targets';
import { ATTRIBUTE_KEY_MAX, ATTRIBUTE_VALUE_MAX, ATTRIBUTES_MAX, HEADER_CELL_MAX, HEADER_MAX_COLUMNS, NAME_MAX, splitTags, type ColumnTarget } from './import-cells';

export * from './import-cells';

/**
 * Import inputs and the CSV column mapping, shared by the browser (preview, mapping
 * guesses), the upload route and the worker. Client-safe: no server imports.
 */

/** ISO 3166 alpha-2, used for numbers written without +country code. */
export const countryCode = z
	.string()
	.trim()
	.toUpperCase()
	.regex(/^[A-Z]{2}$/, 'Default country must be a two-letter code such as CN or US');

export const importOptions = z.object({
	/** true: phones already in contacts are left as they are; false: update name/attributes, merge tags. */
	skipDuplicates: z.boolean().default(true),
	/** Added to every imported contact. */
	tags: z.array(tagName).max(20, 'At most 20 batch tags').default([]),
	source: text().trim().max(100, 'Source is at most 100 characters').optional(),
	defaultCountry: countryCode.optional()
});
export type ImportOptions = z.infer<typeof importOptions>;

const attributeKey = text()
	.trim()
	.min(1, 'Attribute keys cannot be empty')
	.max(ATTRIBUTE_KEY_MAX, `Attribute keys are at most ${ATTRIBUTE_KEY_MAX} characters`);

/** One contact of a JSON import (the seed's shape). Phones are validated by the worker and reported per row. */
export const importContact = z.object({
	phoneE164: text().max(64, 'phoneE164 is at most 64 characters'),
	name: text().max(NAME_MAX, `Names are at most ${NAME_MAX} characters`).optional().nullable(),
	tags: z.array(tagName).max(50).optional(),
	attributes: z
		.record(attributeKey, text().max(ATTRIBUTE_VALUE_MAX, `Attribute values are at most ${ATTRIBUTE_VALUE_MAX} characters`))
		.refine((a) => Object.keys(a).length <= ATTRIBUTES_MAX, `At most ${ATTRIBUTES_MAX} attributes per contact`)
		.optional()
});
export type ImportContact = z.infer<typeof importContact>;

/**
 * batch.import. The server caps `contacts` at IMPORT_JSON_MAX_CONTACTS (a
 * PAYLOAD_TOO_LARGE error pointing to the CSV upload); this hard ceiling only stops
 * absurd bodies before they are validated item by item.
 */
export const importJsonInput = importOptions.extend({
	contacts: z.array(importContact).min(1, 'Give at least one contact').max(1_000_000),
	/** Same key + same input within 24 h returns the same batch; a different input is a conflict. */
	idempotencyKey: z.string().trim().min(1).max(200, 'idempotencyKey is at most 200 characters').optional()
});
export type ImportJsonInput = z.infer<typeof importJsonInput>;

export const columnTarget = z.union([
	z.enum(['phone', 'name', 'tags', 'ignore']),
	z
		.string()
		.regex(/^attribute\.[^\s].{0,63}$/, 'Use phone, name, tags, ignore or attribute.<key>')
		.transform((s) => s as `attribute.${string}`)
]);

/** One target per header column, in column order. */
export const columnMapping = z.array(columnTarget).max(HEADER_MAX_COLUMNS, `At most ${HEADER_MAX_COLUMNS} columns`);

/**
 * An import's header as it is stored with the batch (batch.input, import_uploads): bounded,
 * so a guessed mapping cannot store megabytes of header per batch.
 */
export const csvHeader = z
	.array(text().max(HEADER_CELL_MAX, `Header cells are at most ${HEADER_CELL_MAX} characters`))
	.max(HEADER_MAX_COLUMNS, `At most ${HEADER_MAX_COLUMNS} columns`);

/** Checks a mapping against its header: exactly one phone column, at most one name column. */
export function mappingProblem(header: string[], mapping: ColumnTarget[]): string | null {
	if (mapping.length !== header.length) return `The mapping has ${mapping.length} entries for ${header.length} columns.`;
	const phones = mapping.filter((m) => m === 'phone').length;
	if (phones === 0) return 'No column is mapped to phone: map the column that holds phone numbers.';
	if (phones > 1) return 'Only one column can be mapped to phone.';
	if (mapping.filter((m) => m === 'name').length > 1) return 'Only one column can be mapped to name.';
	const keys = mapping.filter((m) => m.startsWith('attribute.')).map((m) => m.slice(10));
	const dup = keys.find((k, i) => keys.indexOf(k) !== i);
	if (dup) return `Two columns are mapped to attribute.${dup}.`;
	return null;
}

/** The columns our failed-rows download adds; ignored when such a file is imported back. */
export const EXPORT_ROW_COLUMN = 'import_row';
export const EXPORT_REASON_COLUMN = 'import_error';

/** The attribute key a header name suggests: "Date of birth" → date_of_birth ('' when nothing is left). */
export function attributeKeyOf(h: string): string {
	return h
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}]+/gu, '_')
		.replace(/^_+|_+$/g, '')
		.slice(0, ATTRIBUTE_KEY_MAX);
}

/** A first guess of the mapping from header names (English and Chinese), for the UI and for scripts that send none. */
export function guessMapping(header: string[]): ColumnTarget[] {
	let phone = false;
	let name = false;
	let tags = false;
	const used = new Set<string>();
	return header.map((raw): ColumnTarget => {
		const h = raw.trim().toLowerCase();
		if (h === EXPORT_ROW_COLUMN || h === EXPORT_REASON_COLUMN || h === '') return 'ignore';
		if (!phone && /(phone|mobile|cell|tel\b|telephone|msisdn|whatsapp|手机|电话|号码)/.test(h)) {
			phone = true;
			return 'phone';
		}
		if (!name && /^(name|full[ _-]?name|contact[ _-]?name|display[ _-]?name|姓名|名字|名称|联系人)$/.test(h)) {
			name = true;
			return 'name';
		}
		if (!tags && /^(tags?|labels?|标签)$/.test(h)) {
			tags = true;
			return 'tags';
		}
		const key = attributeKeyOf(raw);
		if (!key || used.has(key)) return 'ignore';
		used.add(key);
		return `attribute.${key}`;
	});
}

/**
 * The upload route's query string (the body is the file itself):
 * ?skipDuplicates=false&tags=vip,2024&source=fair&defaultCountry=CN&filename=x.csv
 * &mapping=["phone","name","ignore"] (by column) or {"Mobile":"phone"} (by header name).
 */
export const uploadParams = z.object({
	skipDuplicates: z
		.enum(['true', 'false', '1', '0'], { message: 'skipDuplicates must be true or false' })
		.optional()
		.transform((v) => (v === undefined ? true : v === 'true' || v === '1')),
	tags: z
		.string()
		.optional()
		.transform((v) => splitTags(v ?? ''))
		.pipe(z.array(tagName).max(20, 'At most 20 batch tags')),
	source: text().trim().max(100, 'Source is at most 100 characters').optional(),
	defaultCountry: countryCode.optional(),
	filename: text().max(255).optional(),
	mapping: z
		.string()
		.optional()
		.transform((v, ctx) => {
			if (!v) return null;
			try {
				return JSON.parse(v) as unknown;
			} catch {
				ctx.addIssue({ code: 'custom', message: 'mapping must be JSON: an array of targets or an object by header name' });
				return z.NEVER;
			}
		})
		.pipe(
			z
				.union([
					columnMapping,
					z
						.record(text().max(HEADER_CELL_MAX), columnTarget)
						.refine((m) => Object.keys(m).length <= HEADER_MAX_COLUMNS, `At most ${HEADER_MAX_COLUMNS} columns`)
				])
				.nullable()
		)
});
