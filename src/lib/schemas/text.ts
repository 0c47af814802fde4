import { z } from 'zod';

/**
 * Text and dates PostgreSQL can store, for every input schema (client-safe).
 *
 * PostgreSQL text cannot hold NUL (0x00), and a lone UTF-16 surrogate ("a\ud800b")
 * cannot be encoded as UTF-8: either one used to reach the database and come back as a
 * 500 (with the statement in its message). A JS Date reaches years PostgreSQL's
 * parser refuses ("+275760-09-13T00:00:00.000Z"). So every string and date field is
 * built from these helpers, which refuse such values as a field error (400) instead.
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or null. */
export function unstorable(s: string): string | null {
	if (s.includes('\u0000')) return 'must not contain NUL characters';
	if (LONE_SURROGATE.test(s)) return 'must be valid Unicode (it has an unpaired surrogate)';
	return null;
}

/** A string that PostgreSQL can store; chain .trim(), .min(), .max() as on z.string(). */
export function text(params?: Parameters<typeof z.string>[0]) {
	return z.string(params).superRefine((s, ctx) => {
		const why = unstorable(s);
		if (why) ctx.addIssue({ code: 'custom', message: `Text ${why}` });
	});
}

/** The years a timestamptz input may take: wide enough for any real schedule or filter, and parsable by PostgreSQL. */
export const DATE_MIN = Date.UTC(1970, 0, 1);
export const DATE_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A Date, or a string/number a Date can be made of, between 1970 and 9999. */
export function dateTime(field: string) {
	return z.coerce
		.date({ error: `${field} must be a date and time` })
		.refine((d) => d.getTime() >= DATE_MIN && d.getTime() <= DATE_MAX, `${field} must be between 1970 and 9999`);
}

/**
 * An optional date where null and '' mean "none" (z.coerce.date would make null 1970,
 * and a send scheduled for null was refused as "in the past").
 */
export function optionalDateTime(field: string) {
	return z.preprocess((v) => (v === null || v === '' ? undefined : v), dateTime(field).optional());
}
