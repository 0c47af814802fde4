import { sql, transaction, type Executor } from '../db/client';
import { audit, type AuditCtx } from '../audit/record';
import { notFound } from '../errors';
import { contactWhere, isPhoneSearch } from './filter';
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
 * Beyond this many matches a filtered list's total is "at least CAP" (totalExact false):
 * an exact count of a broad search is a read of every match (seconds at 10M), on every
 * keystroke; even counting to 10 000 read 10 000 scattered rows (~150-300 ms at 1M),
 * and to 1 000 a 1M-entry bitmap for a common name at 10M.
 * The unfiltered total and a single tag's total are exact and free (the counts the
 * triggers keep); "select all matching" counts exactly through batch.targetCount.
 */
export const SEARCH_TOTAL_CAP = 200;

/**
 * A search or a page for two or more tags is looked for among the newest PROBE_ROWS
 * contacts first (a backward walk of the primary key that stops once it has enough):
 * when they hold the page (or more than SEARCH_TOTAL_CAP matches, for the count), that
 * is the answer; else the planner's own plan runs. Why: the planner takes two tags, or
 * the words of a name, as independent; when they are correlated (vip ∩ r2: estimated
 * 500 of 1M, really 10 000; "Anna Kowalski": 98, really 8 334) it picked a bitmap scan
 * that read and sorted every match (0.16-0.3 s at 1M, seconds at 10M). A filter too rare
 * for the probe is one the planner's bitmap serves well. One tag and a phone prefix
 * need no probe.
 */
const PROBE_ROWS = 50_000;
/** The probe's first step: a filter with no match among these goes to the planner's plan at once. */
const FIRST_PROBE_ROWS = 10_000;

/**
 * A page of contacts and how many match: exact for everything and for one tag
 * (maintained counts), else counted up to SEARCH_TOTAL_CAP. Newest first, except a
 * search written as a phone number, which lists by phone: its matches are a range of
 * the phone index, so any page of them is a short read (newest first would sort every
 * match: 0.25 s for "+86139004" at 1M).
 */
export async function listContacts(input: ContactListInput) {
	const q = sql();
	const search = input.search || undefined;
	const tags = input.tags?.length ? [...new Set(input.tags)] : undefined;
	const cond = where(input);
	const byPhone = search !== undefined && isPhoneSearch(search);
	// USING ~<~: the phone index's own order (text_pattern_ops); a plain ORDER BY phone is
	// the collation's order, which that index cannot give, and sorted every match.
	const order = byPhone ? q`c.phone_e164 using ~<~` : q`c.id desc`;
	const empty = { items: [] as ContactDto[], total: 0, totalExact: true, limit: input.limit, offset: input.offset };
	let tagTotal: number | null = null;
	if (tags) {
		// The kept counts answer at once when a tag is held by nobody (a plan for a tag
		// the statistics do not know walked the whole table: 0.75 s at 1M).
		const counts = await q<{ n: number }[]>`
			select coalesce((select contacts from tag_counts where tag = t), 0)::float8 as n from unnest(${tags}::text[]) t`;
		const least = Math.min(...counts.map((r) => Number(r.n)));
		if (least <= 0) return empty;
		if (tags.length === 1) tagTotal = least;
	}
	const pageOf = () => q<ContactDto[]>`select ${columns(q)} from contacts c where ${cond}
		order by ${order} limit ${input.limit} offset ${input.offset}`;
	const countOf = async (): Promise<{ total: number; exact: boolean }> => {
		if (!search && !tags) {
			const [r] = await q<{ n: number }[]>`select coalesce((select contacts from contact_totals), 0)::float8 as n`;
			return { total: Number(r.n), exact: true };
		}
		if (!search && tagTotal !== null) return { total: tagTotal, exact: true };
		const [{ n }] = await q<{ n: number }[]>`select count(*)::int as n
			from (select 1 from contacts c where ${cond} limit ${SEARCH_TOTAL_CAP + 1}) m`;
		return { total: Math.min(n, SEARCH_TOTAL_CAP), exact: n <= SEARCH_TOTAL_CAP };
	};
	if ((search !== undefined && !byPhone) || (tags !== undefined && tags.length > 1)) {
		// The ids of the first `want` matches, newest first, answer both the page and the count:
		// one read of the matches, not a page query and a count query each computing them.
		const want = Math.max(input.offset + input.limit, SEARCH_TOTAL_CAP + 1);
		const idsFrom = async (from: Fragment) =>
			(await q<{ id: number }[]>`select c.id::float8 as id from ${from} where ${cond}
				order by c.id desc limit ${want}`).map((r) => r.id);
		// Only the columns contactWhere reads (all of them made each probe ~20% slower).
		const newest = (rows: number) => q`(select id, name, tags, phone_e164 from contacts order by id desc limit ${rows}) c`;
		// None among the first probe's rows: too rare for the probe to pay (at 10M, the 50 000
		// rows' walk cost more than the index's plan for such a filter: 47 ms of 72).
		let ids = await idsFrom(newest(FIRST_PROBE_ROWS));
		if (ids.length > 0 && ids.length < want) ids = await idsFrom(newest(PROBE_ROWS));
		if (ids.length < want) ids = await idsFrom(q`contacts c`);
		const pageIds = ids.slice(input.offset, input.offset + input.limit);
		const items = pageIds.length
			? await q<ContactDto[]>`select ${columns(q)} from contacts c where c.id = any(${pageIds}::bigint[]) order by c.id desc`
			: [];
		const total = Math.min(ids.length, SEARCH_TOTAL_CAP);
		return { items: [...items], total, totalExact: ids.length <= SEARCH_TOTAL_CAP, limit: input.limit, offset: input.offset };
	}
	const [items, { total, exact }] = await Promise.all([pageOf(), countOf()]);
	return { items: [...items], total, totalExact: exact, limit: input.limit, offset: input.offset };
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
