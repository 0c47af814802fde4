import { sql as dsql, type SQL } from 'drizzle-orm';
import { db } from '../db/client';
import { notFound } from '../errors';
import { contactFilterSql } from './filter';
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

const COLUMNS = dsql`c.id::float8 as "id", c.phone_e164 as "phoneE164", c.name, c.tags, c.attributes, c.source,
	c.opted_out_at as "optedOutAt", c.created_at as "createdAt", c.updated_at as "updatedAt"`;

type ContactRow = Omit<ContactDto, 'optedOutAt' | 'createdAt' | 'updatedAt'> & {
	optedOutAt: string | Date | null;
	createdAt: string | Date;
	updatedAt: string | Date;
};

// Raw queries through drizzle's postgres.js client return timestamps as text.
function toDto(r: ContactRow): ContactDto {
	return {
		...r,
		optedOutAt: r.optedOutAt === null ? null : new Date(r.optedOutAt),
		createdAt: new Date(r.createdAt),
		updatedAt: new Date(r.updatedAt)
	};
}

function where(input: { search?: string; tags?: string[] }): SQL {
	// contactFilterSql is the bulk actions' filter too: the list's "all N matching" is their set.
	return contactFilterSql({ search: input.search || undefined, tags: input.tags?.length ? input.tags : undefined, all: true });
}

/** A page of contacts, newest first, and how many match in all. */
export async function listContacts(input: ContactListInput) {
	const cond = where(input);
	const [items, [{ total }]] = await Promise.all([
		db().execute<ContactRow>(dsql`select ${COLUMNS} from contacts c where ${cond}
			order by c.id desc limit ${input.limit} offset ${input.offset}`),
		db().execute<{ total: number }>(dsql`select count(*)::float8 as total from contacts c where ${cond}`)
	]);
	return { items: [...items].map(toDto), total: Number(total), limit: input.limit, offset: input.offset };
}

/** Every tag in use with how many contacts hold it, most used first. */
export async function tagCounts(limit = 500) {
	const rows = await db().execute<{ tag: string; count: number }>(dsql`
		select t as tag, count(*)::int as count from contacts, unnest(tags) t
		group by t order by count(*) desc, t limit ${limit}`);
	return [...rows];
}

export async function getContact(id: number): Promise<ContactDto> {
	const [row] = await db().execute<ContactRow>(dsql`select ${COLUMNS} from contacts c where c.id = ${id}`);
	if (!row) throw notFound(`No contact ${id}.`, 'id');
	return toDto(row);
}

/** Edits one contact; only the fields given change. Tags are de-duplicated, order kept. */
export async function updateContact(input: ContactUpdateInput): Promise<ContactDto> {
	const sets: SQL[] = [dsql`updated_at = now()`];
	if (input.name !== undefined) sets.push(dsql`name = ${input.name || null}`);
	if (input.tags !== undefined) sets.push(dsql`tags = ${dsql.param([...new Set(input.tags)])}::text[]`);
	if (input.attributes !== undefined) sets.push(dsql`attributes = ${JSON.stringify(input.attributes)}::jsonb`);
	if (input.optedOut !== undefined) {
		sets.push(input.optedOut ? dsql`opted_out_at = coalesce(opted_out_at, now())` : dsql`opted_out_at = null`);
	}
	const [row] = await db().execute<ContactRow>(dsql`
		update contacts c set ${dsql.join(sets, dsql`, `)} where c.id = ${input.id} returning ${COLUMNS}`);
	if (!row) throw notFound(`No contact ${input.id}.`, 'id');
	return toDto(row);
}
