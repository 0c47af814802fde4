import type { ContactFilter } from '../../schemas/targets';
import { sql, type Fragment } from '../db/client';
import { badInput } from '../errors';


/** A search that is only a phone number as people write one: digits, spaces, + - ( ) . / */
const PHONE_LIKE = /^[\d\s+\-().\/]+$/;

/** True when a search is a phone number (or the start of one) with at least 3 digits. */
export function isPhoneSearch(search: string): boolean {
	return PHONE_LIKE.test(search) && phonePrefix(search) !== null;
}

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
 * tags); a search written like a phone number ("+86 139 0012", "(212) 555") matches the start
 * of the phone (phonePrefix); any other search a substring of the name,
 * case-insensitively (pg_trgm index). One or the other, never both: an OR of the two
 * made the planner read the whole table (2.6 s at 1M).
 */
export function contactWhere(filter: ContactFilter): Fragment {
	const q = sql();
	const parts: Fragment[] = [];
	if (filter.tags?.length) parts.push(q`c.tags @> ${filter.tags}::text[]`);
	if (filter.search) {
		const prefix = phonePrefix(filter.search);
		const like = containing(filter.search);
		if (prefix && isPhoneSearch(filter.search)) parts.push(q`c.phone_e164 like ${`${prefix}%`}`);
		// Under 3 characters pg_trgm has no trigram to look up and would read its whole
		// index: such a search walks the table instead (a common letter fills a page fast).
		else if (filter.search.length < 3) parts.push(q`(c.name || '') ilike ${like}`);
		else parts.push(nameSearch(filter.search, like));
	}
	if (parts.length === 0) {
		if (!filter.all) throw badInput('A filter needs tags, a search, or all: true.', 'filter');
		return q`true`;
	}
	return parts.reduce((a, p) => q`${a} and ${p}`);
}

/** An ILIKE pattern matching `text` anywhere (its own % _ \\ taken literally). */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/**
 * A name substring search as the trigram index serves it best. A search of several words
 * ("Aisha Sil") as one pattern makes pg_trgm look up the words' edges too ("  s", "ha "):
 * the first letter of every name's word, posting lists of millions at 10M contacts
 * (65 ms for a search matching nobody). Each word of 3+ characters as its own pattern
 * looks up only the words' insides (25 ms); the whole search, on an expression the index
 * does not cover, then checks each candidate exactly. The same rows either way. A word
 * shorter than 3 needs its edges (" wu", "wu " are all it has: "Omar Wu" on "omar" alone
 * rechecked 333 000 names, 3.4 s): then the one pattern.
 */
function nameSearch(search: string, like: string): Fragment {
	const q = sql();
	const words = search.split(/\s+/).filter((w) => w !== '');
	if (words.length < 2 || words.some((w) => w.length < 3)) return q`c.name ilike ${like}`;
	const each = words.map((w) => q`c.name ilike ${containing(w)}`);
	return q`${each.reduce((a, p) => q`${a} and ${p}`)} and (c.name || '') ilike ${like}`;
}

/** Validates "exactly one of contactIds / filter". */
export function requireOneTarget(input: { contactIds?: number[]; filter?: ContactFilter }) {
	if (!input.contactIds === !input.filter) {
		throw badInput('Give exactly one of contactIds or filter.', input.contactIds ? 'filter' : 'contactIds');
	}
}
