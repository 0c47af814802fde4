import type { ContactFilter } from '../../schemas/targets';
import { sql, type Fragment } from '../db/client';
import { badInput } from '../errors';


/**
 * A search's phone part as the start of an E.164 number ("+86 138", "86138" → "+86138"),
 * or null when it has fewer than 3 digits. Phones match by prefix only: a prefix is a
 * range of the phone index (text_pattern_ops, any collation), where a match in the
 * middle of the number has no index short of a trigram index over every phone: a
 * second GIN index's upkeep on every import and bulk change.
 */
export function phonePrefix(search: string): string | null {
	const digits = search.replace(/\D/g, '');
	return digits.length >= 3 ? `+${digits}` : null;
}

/**
 * The WHERE condition (over table alias `c`) that selects a contact filter's contacts,
 * as a postgres.js fragment. Tags match contacts holding all of them (GIN index on
 * tags); search matches a substring of the name (case-insensitively, pg_trgm index) or the
 * start of the phone (phonePrefix).
 */
export function contactWhere(filter: ContactFilter): Fragment {
	const q = sql();
	const parts: Fragment[] = [];
	if (filter.tags?.length) parts.push(q`c.tags @> ${filter.tags}::text[]`);
	if (filter.search) {
		const like = `%${filter.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
		const prefix = phonePrefix(filter.search);
		parts.push(prefix ? q`(c.name ilike ${like} or c.phone_e164 like ${`${prefix}%`})` : q`c.name ilike ${like}`);
	}
	if (parts.length === 0) {
		if (!filter.all) throw badInput('A filter needs tags, a search, or all: true.', 'filter');
		return q`true`;
	}
	return parts.reduce((a, p) => q`${a} and ${p}`);
}

/** Validates "exactly one of contactIds / filter". */
export function requireOneTarget(input: { contactIds?: number[]; filter?: ContactFilter }) {
	if (!input.contactIds === !input.filter) {
		throw badInput('Give exactly one of contactIds or filter.', input.contactIds ? 'filter' : 'contactIds');
	}
}
