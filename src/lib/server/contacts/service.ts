import { sql, transaction, type Executor } from '../db/client';
import { audit, type AuditCtx } from '../audit/record';
import { notFound } from '../errors';
import { contactWhere } from './filter';
import type { Fragment } from '../db/client';
import type { ContactListInput, ContactUpdateInput } from '../../schemas/contacts';

export type ContactDto = {
	id: number;
	phoneE164: string;
	name: string | null;
	tags: string[];
	attributes: Record<string, string>;
	source: string | null;
	optedOutAt: Date | null;
	createdAt: Date;
	updatedAt: Date;
};

/** A contacts row (alias `c`) as a ContactDto. */
const columns = (ex: Executor) => ex`c.id::float8 as "id", c.phone_e164 as "phoneE164", c.name, c.tags, c.attributes, c.source,
	c.opted_out_at as "optedOutAt", c.created_at as "createdAt", c.updated_at as "updatedAt"`;

function where(input: { search?: string; tags?: string[] }): Fragment {
	// contactWhere is the bulk actions' filter too: the list's "all N matching" is their set.
	return contactWhere({ search: input.search || undefined, tags: input.tags?.length ? input.tags : undefined, all: true });
}

/**
 * Beyond this many matches a search's total is "at least CAP" (totalExact false): an
 * exact count of a broad search is a scan of every match (seconds at 10M), on every
 * keystroke. The unfiltered total and a single tag's total are exact and cheap (the
 * counts the triggers keep); "select all matching" counts exactly through bulk.count.
 */
export const SEARCH_TOTAL_CAP = 10_000;

/**
 * A page of contacts, newest first, and how many match: exact for everything and for
 * one tag (maintained counts), else counted up to SEARCH_TOTAL_CAP.
 */
export async function listContacts(input: ContactListInput) {
	const q = sql();
	const search = input.search || undefined;
	const tags = input.tags?.length ? [...new Set(input.tags)] : undefined;
	const cond = where(input);
	const count = (): Promise<{ total: number; exact: boolean }[]> =>
		!search && !tags
			? q`select coalesce((select contacts from contact_totals), 0)::float8 as total, true as exact`
			: !search && tags!.length === 1
				? q`select coalesce((select contacts from tag_counts where tag = ${tags![0]}), 0)::float8 as total, true as exact`
				: q`select least(count(*), ${SEARCH_TOTAL_CAP})::float8 as total, count(*) <= ${SEARCH_TOTAL_CAP} as exact
					from (select 1 from contacts c where ${cond} limit ${SEARCH_TOTAL_CAP + 1}) m`;
	const [items, [{ total, exact }]] = await Promise.all([
		q<ContactDto[]>`select ${columns(q)} from contacts c where ${cond}
			order by c.id desc limit ${input.limit} offset ${input.offset}`,
		count()
	]);
	return { items: [...items], total: Number(total), totalExact: exact, limit: input.limit, offset: input.offset };
}

/** Every tag in use with how many contacts hold it, most used first (tag_counts, kept by triggers). */
export async function tagCounts(limit = 500) {
	const rows = await sql()<{ tag: string; count: number }[]>`
		select tag, contacts::int as count from tag_counts where contacts > 0
		order by contacts desc, tag limit ${limit}`;
	return [...rows];
}

export async function getContact(id: number): Promise<ContactDto> {
	const q = sql();
	const [row] = await q<ContactDto[]>`select ${columns(q)} from contacts c where c.id = ${id}`;
	if (!row) throw notFound(`No contact ${id}.`, 'id');
	return row;
}

/** Edits one contact; only the fields given change. Tags are de-duplicated, order kept. */
export async function updateContact(input: ContactUpdateInput, by?: AuditCtx): Promise<ContactDto> {
	return transaction(async (q) => {
		const [before] = await q<ContactDto[]>`select ${columns(q)} from contacts c where c.id = ${input.id} for update`;
		if (!before) throw notFound(`No contact ${input.id}.`, 'id');
		const row = await writeContact(q, input);
		// The fields given, before and after (an opt-out change shows as optedOut false → true).
		await audit(q, by, 'contacts.update', { type: 'contact', id: input.id }, {
			phone: row.phoneE164,
			before: edited(before, input),
			after: edited(row, input)
		});
		return row;
	});
}

function edited(c: ContactDto, input: ContactUpdateInput): Record<string, unknown> {
	return {
		...(input.name !== undefined ? { name: c.name } : {}),
		...(input.tags !== undefined ? { tags: c.tags } : {}),
		...(input.attributes !== undefined ? { attributes: c.attributes } : {}),
		...(input.optedOut !== undefined ? { optedOut: c.optedOutAt !== null, optedOutAt: c.optedOutAt } : {})
	};
}

async function writeContact(q: Executor, input: ContactUpdateInput): Promise<ContactDto> {
	const sets: Fragment[] = [q`updated_at = now()`];
	if (input.name !== undefined) sets.push(q`name = ${input.name || null}`);
	if (input.tags !== undefined) sets.push(q`tags = ${[...new Set(input.tags)]}::text[]`);
	if (input.attributes !== undefined) sets.push(q`attributes = ${JSON.stringify(input.attributes)}::jsonb`);
	if (input.optedOut !== undefined) {
		sets.push(input.optedOut ? q`opted_out_at = coalesce(opted_out_at, now())` : q`opted_out_at = null`);
	}
	const [row] = await q<ContactDto[]>`
		update contacts c set ${sets.reduce((a, b) => q`${a}, ${b}`)} where c.id = ${input.id} returning ${columns(q)}`;
	if (!row) throw notFound(`No contact ${input.id}.`, 'id');
	return row;
}
