import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, createdAt } from './columns';

export const contacts = pgTable(
	'contacts',
	{
		id: id(),
		phoneE164: text('phone_e164').notNull(),
		name: text('name'),
		tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
		attributes: jsonb('attributes').$type<Record<string, string>>().notNull().default({}),
		source: text('source'),
		optedOutAt: timestamp('opted_out_at', { withTimezone: true }),
		createdAt: createdAt(),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [
		index('contacts_tags_gin').using('gin', t.tags),
		// Unique, and the phone prefix search's index: text_pattern_ops serves both
		// `phone_e164 = $1` (ON CONFLICT, lookups) and `phone_e164 like '+86138%'` in any
		// database collation (a default-opclass index does prefix LIKE only under "C").
		// One index instead of two keeps the import's index upkeep where it was.
		uniqueIndex('contacts_phone_e164_unique').using('btree', t.phoneE164.op('text_pattern_ops')),
		// Name substring search (ILIKE '%…%'), pg_trgm; the extension is created in 0012.
		index('contacts_name_trgm').using('gin', t.name.op('gin_trgm_ops'))
	]
);

/**
 * How many contacts hold each tag, kept exact by statement-level triggers on contacts
 * (drizzle/0012): the tag list read this instead of unnesting every contact's tags
 * (~0.3 s at 1M, seconds at 10M). A row may reach 0; readers skip those.
 */
export const tagCounts = pgTable('tag_counts', {
	tag: text('tag').primaryKey(),
	contacts: bigint('contacts', { mode: 'number' }).notNull()
});

/** The number of contacts, one row, kept by the same triggers: the unfiltered list's total. */
export const contactTotals = pgTable(
	'contact_totals',
	{
		one: boolean('one').primaryKey().default(true),
		contacts: bigint('contacts', { mode: 'number' }).notNull()
	},
	(t) => [check('contact_totals_one', sql`${t.one}`)]
);
