import { sql } from 'drizzle-orm';
import { boolean, check, doublePrecision, index, integer, jsonb, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { id, createdAt, quietCheck } from './columns';

export const CHANNEL_KINDS = ['sandbox', 'webhook', 'twilio', 'whatsapp'] as const;

export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const channels = pgTable('channels', {
	id: text('id').primaryKey(),
	name: text('name').notNull(),
	kind: text('kind').$type<ChannelKind>().notNull(),
	/** Kind-specific settings, secrets included; never sent to the browser as is. */
	config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
	/** Throughput cap in messages per second, across all worker processes. */
	ratePerSecond: integer('rate_per_second').notNull().default(100),
	enabled: boolean('enabled').notNull().default(true),
	createdAt: createdAt(),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
	/** The quiet window a send on this channel gets when it names none (minutes after midnight, as on batch_operations). */
	quietStart: smallint('quiet_start'),
	quietEnd: smallint('quiet_end')
}, (t) => [check('channels_quiet_check', quietCheck(t.quietStart, t.quietEnd))]);

/** A token bucket per channel, shared by every worker process through row locks. */
export const channelLimits = pgTable('channel_limits', {
	channelId: text('channel_id')
		.primaryKey()
		.references(() => channels.id, { onDelete: 'cascade' }),
	tokens: integer('tokens').notNull().default(0),
	refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull().defaultNow(),
	/** The grants of the last second or so (channels/limiter.ts): when (epoch ms) and how many, pairwise. */
	grantAt: doublePrecision('grant_at').array().notNull().default(sql`'{}'::float8[]`),
	grantN: integer('grant_n').array().notNull().default(sql`'{}'::int[]`)
});

/**
 * Delivery receipts that arrived before the send recorded its provider message id
 * (receipts/parked.ts): kept until that id is recorded, then applied, or dropped at
 * expiry. channel_ids: the channels the receipt's signature speaks for.
 */
export const parkedReceipts = pgTable(
	'parked_receipts',
	{
		id: id(),
		channelIds: text('channel_ids').array().notNull(),
		messageId: text('message_id').notNull(),
		delivery: text('delivery').notNull(),
		code: text('code'),
		receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [index('parked_receipts_message_id_idx').on(t.messageId), index('parked_receipts_received_at_idx').on(t.receivedAt)]
);
