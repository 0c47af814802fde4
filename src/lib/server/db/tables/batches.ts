import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id, createdAt, quietCheck, bytea } from './columns';
import type { BatchStatus, BatchType, ItemStatus } from '../../../batch-kinds';
import { users } from './auth';

/** What batch_operations.details_pruned holds (see there). */
export type DetailsPruned = {
	at: string;
	afterDays: number;
	byStatus: Record<string, number>;
	topErrors: { code: string; n: number; sample: string | null }[];
	done: boolean;
};

export const batchOperations = pgTable(
	'batch_operations',
	{
		id: uuid('id').primaryKey().defaultRandom(),
		type: text('type').$type<BatchType>().notNull(),
		status: text('status').$type<BatchStatus>().notNull().default('PENDING'),
		totalCount: integer('total_count').notNull().default(0),
		processedCount: integer('processed_count').notNull().default(0),
		successCount: integer('success_count').notNull().default(0),
		failedCount: integer('failed_count').notNull().default(0),
		skippedCount: integer('skipped_count').notNull().default(0),
		/**
		 * Sends whose outcome nobody knows (a timeout or reset after the request left, on a
		 * channel that cannot deduplicate): processed, neither success nor failed, and never
		 * re-sent without an operator's say. processed = success + failed + skipped + unknown.
		 */
		unknownCount: integer('unknown_count').notNull().default(0),
		/** Delivery receipts, counted once per item at its furthest state (read implies delivered). */
		deliveredCount: integer('delivered_count').notNull().default(0),
		readCount: integer('read_count').notNull().default(0),
		undeliveredCount: integer('undelivered_count').notNull().default(0),
		/** The validated input, as the caller gave it (filters, options, content). */
		input: jsonb('input').$type<Record<string, unknown>>().notNull().default({}),
		/** Type-specific results, e.g. import outcome counts {created, updated, duplicate, invalid}. */
		result: jsonb('result').$type<Record<string, unknown>>().notNull().default({}),
		createdBy: bigint('created_by', { mode: 'number' }).references(() => users.id, {
			onDelete: 'set null'
		}),
		createdAt: createdAt(),
		scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
		startedAt: timestamp('started_at', { withTimezone: true }),
		completedAt: timestamp('completed_at', { withTimezone: true }),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
		error: text('error'),
		idempotencyKey: text('idempotency_key'),
		idempotencyHash: text('idempotency_hash'),
		// Send-only settings, kept as columns because the engine reads them on every slice.
		channelId: text('channel_id'),
		ratePerMinute: integer('rate_per_minute'),
		jitterMs: integer('jitter_ms'),
		/** Pacing: the earliest time the next send of this batch may start (database clock). */
		nextSendAt: timestamp('next_send_at', { withTimezone: true }),
		/**
		 * The circuit breaker judges only outcomes recorded since (send/guards.ts): set on
		 * resume, so a resumed batch starts with a clean window.
		 */
		breakerFrom: timestamp('breaker_from', { withTimezone: true }),
		/**
		 * The UNDO batch that undoes this IMPORT or DELETE, set when that batch is created
		 * (under this row's lock): a batch is undone once (undo/create.ts).
		 */
		undoneBy: uuid('undone_by'),
		/** When the archives this batch's undo needs were purged (undo/purge.ts): it can no longer be undone. */
		archivePurgedAt: timestamp('archive_purged_at', { withTimezone: true }),
		/**
		 * Set when the ledger retention (LEDGER_RETENTION_DAYS) drops this finished batch's
		 * per-item rows (ledger/retention.ts): when, after how many days, and the ledger's
		 * breakdown as it was, which batch.get shows from then on. Counts, error and failed
		 * rows stay. `done` once every dropped row is gone. Null: all details there.
		 */
		detailsPruned: jsonb('details_pruned').$type<DetailsPruned>(),
		/**
		 * SEND: the quiet window in each recipient's local time, as minutes after midnight
		 * (start inclusive, end exclusive; start > end wraps midnight). Null: none. Columns,
		 * because every claim statement reads them (send/quiet.ts).
		 */
		quietStart: smallint('quiet_start'),
		quietEnd: smallint('quiet_end')
	},
	(t) => [
		index('batch_operations_created_idx').on(t.createdAt.desc(), t.id),
		index('batch_operations_type_created_idx').on(t.type, t.createdAt.desc()),
		index('batch_operations_status_created_idx').on(t.status, t.createdAt.desc()),
		uniqueIndex('batch_operations_idempotency_key')
			.on(t.createdBy, t.idempotencyKey)
			.where(sql`${t.idempotencyKey} is not null`),
		check('batch_operations_type_check', sql`${t.type} in ('IMPORT','SEND','TAG','DELETE','UNDO')`),
		check(
			'batch_operations_status_check',
			sql`${t.status} in ('PENDING','PROCESSING','PAUSED','COMPLETED','FAILED','CANCELLED')`
		),
		check('batch_operations_quiet_check', quietCheck(t.quietStart, t.quietEnd))
	]
);

/** A table's batch_id: its rows belong to the batch and go with it (ON DELETE CASCADE). */
export const batchRef = () => uuid('batch_id').references(() => batchOperations.id, { onDelete: 'cascade' });

/**
 * The per-target ledger of SEND, TAG and DELETE batches: one row per contact.
 * contact_id is not a foreign key on purpose: deleting a contact must leave past
 * ledgers readable, so each item keeps its own snapshot of phone and name.
 */
export const batchItems = pgTable(
	'batch_items',
	{
		id: id(),
		batchId: batchRef().notNull(),
		contactId: bigint('contact_id', { mode: 'number' }),
		phone: text('phone'),
		name: text('name'),
		status: text('status').$type<ItemStatus>().notNull().default('pending'),
		attempts: smallint('attempts').notNull().default(0),
		errorClass: text('error_class'),
		errorCode: text('error_code'),
		errorMessage: text('error_message'),
		providerMessageId: text('provider_message_id'),
		/** The provider's last delivery receipt: delivered | read | undelivered | failed. */
		delivery: text('delivery').$type<'delivered' | 'read' | 'undelivered' | 'failed'>(),
		/** The provider's error code on an undelivered/failed receipt. */
		deliveryCode: text('delivery_code'),
		deliveryAt: timestamp('delivery_at', { withTimezone: true }),
		/** Retry back-off: not claimable before this time. */
		notBefore: timestamp('not_before', { withTimezone: true }),
		claimedBy: text('claimed_by'),
		claimedAt: timestamp('claimed_at', { withTimezone: true }),
		updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
		/**
		 * A SEND with quiet hours: the recipient's time zone(s), fixed when the batch is
		 * created (send/quiet-zones.ts). Several when only the country is known and it spans
		 * zones: the item waits while any of them is inside the window. Null: no quiet hours.
		 */
		quietZones: text('quiet_zones').array(),
		/** Set with not_before when the item was held for its quiet window (batch.get counts these); cleared on claim. */
		quietUntil: timestamp('quiet_until', { withTimezone: true })
	},
	(t) => [
		uniqueIndex('batch_items_batch_contact_key').on(t.batchId, t.contactId),
		index('batch_items_batch_status_idx').on(t.batchId, t.status, t.id),
		index('batch_items_contact_idx').on(t.contactId),
		// A worker's claims in flight (a few hundred at most): its own sweep on every
		// heartbeat and a dead worker's release find them without scanning the ledger.
		index('batch_items_sending_claim_idx')
			.on(t.claimedBy)
			.where(sql`${t.status} = 'sending'`),
		// Receipts find their item by the provider's message id.
		index('batch_items_provider_message_idx')
			.on(t.providerMessageId)
			.where(sql`${t.providerMessageId} is not null`)
	]
);

/**
 * The frozen id list of a TAG or DELETE batch given explicit contact ids: sorted,
 * distinct, packed as 64-bit floats (exact for every bigint id below 2^53). A million
 * ids are 8 MB written and read back in milliseconds; the same list inside the batch's
 * jsonb input cost about a second to store and another to read when the worker started.
 */
export const batchTargets = pgTable('batch_targets', {
	batchId: batchRef().primaryKey(),
	ids: bytea('ids').notNull()
});

/** Contacts removed by a DELETE batch, kept whole so the batch can be restored. */
export const deletedContacts = pgTable(
	'deleted_contacts',
	{
		batchId: batchRef().notNull(),
		contactId: bigint('contact_id', { mode: 'number' }).notNull(),
		phoneE164: text('phone_e164').notNull(),
		name: text('name'),
		tags: text('tags').array().notNull(),
		attributes: jsonb('attributes').notNull(),
		source: text('source'),
		optedOutAt: timestamp('opted_out_at', { withTimezone: true }),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
		deletedAt: timestamp('deleted_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [primaryKey({ columns: [t.batchId, t.contactId] })]
);

/**
 * The frozen target list of an UNDO batch of an IMPORT, one row per contact the import
 * created or updated, built by one statement when the undo starts (undo/run.ts): the
 * import's records are spread over per-chunk arrays and ledger rows, and a contact may
 * appear in several (a file repeating a phone in update mode). Here each contact appears
 * once, with what to put back and the import's last write of it, so the chunks walk it by
 * contact id. Each chunk takes its rows out, so the list is empty when the undo ends.
 */
export const undoTargets = pgTable(
	'undo_targets',
	{
		// No foreign key: its per-row check was half the time of freezing a 100 000-row list
		// (measured). Rows left by a cancelled undo are purged (undo/purge.ts).
		batchId: uuid('batch_id').notNull(),
		contactId: bigint('contact_id', { mode: 'number' }).notNull(),
		/** Created by the import: the undo removes it. Else updated: the undo puts prev_* back. */
		created: boolean('created').notNull(),
		/** The import's last write of the contact: its updated_at unless it changed since. */
		writtenAt: timestamp('written_at', { withTimezone: true }).notNull(),
		prevName: text('prev_name'),
		prevTags: text('prev_tags').array(),
		prevAttributes: jsonb('prev_attributes')
	},
	(t) => [primaryKey({ columns: [t.batchId, t.contactId] })]
);
