import { bigint, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id, createdAt } from './columns';
import { users } from './auth';

export const templates = pgTable('templates', {
	id: id(),
	name: text('name').notNull().unique(),
	body: text('body').notNull(),
	createdBy: bigint('created_by', { mode: 'number' }).references(() => users.id, {
		onDelete: 'set null'
	}),
	createdAt: createdAt(),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
});

/** The sandbox channel's outbox. The idempotency key makes a re-send after a crash a no-op. */
export const outbox = pgTable(
	'outbox',
	{
		id: id(),
		channelId: text('channel_id').notNull(),
		batchId: uuid('batch_id'),
		itemId: bigint('item_id', { mode: 'number' }),
		toPhone: text('to_phone').notNull(),
		body: text('body').notNull(),
		idempotencyKey: text('idempotency_key').notNull().unique(),
		createdAt: createdAt()
	},
	(t) => [index('outbox_created_idx').on(t.createdAt.desc()), index('outbox_batch_idx').on(t.batchId)]
);
