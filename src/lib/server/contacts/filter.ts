import type { ContactFilter } from '../../schemas/targets';
import { sql, type Fragment } from '../db/client';
import { badInput } from '../errors';


/**
 * The WHERE condition (over table alias `c`) that selects a contact filter's contacts,
 * as a postgres.js fragment. Tags match contacts holding all of them (GIN index on
 * tags); search matches name or phone, case-insensitively.
 */
export function contactWhere(filter: ContactFilter): Fragment {
	const q = sql();
	const parts: Fragment[] = [];
	if (filter.tags?.length) parts.push(q`c.tags @> ${filter.tags}::text[]`);
	if (filter.search) {
		const like = `%${filter.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
		const digits = filter.search.replace(/[^\d+]/g, '');
		parts.push(digits.length >= 3 ? q`(c.name ilike ${like} or c.phone_e164 like ${`%${digits}%`})` : q`c.name ilike ${like}`);
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
