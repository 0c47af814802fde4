import { sql } from 'drizzle-orm';
import {
	bigint,
	boolean,
	check,
	customType,
	doublePrecision,
	index,
	integer,
	jsonb,
	pgTable,
	primaryKey,
	smallint,
	text,
	timestamp,
	uniqueIndex,
	uuid,
	type AnyPgColumn
} from 'drizzle-orm/pg-core';
import type { BatchStatus, BatchType, ItemStatus } from '../../batch-kinds';
import type { Role } from '../../roles';

/** A quiet window: none, or both ends (minutes after midnight) and not the same minute. */
function quietCheck(start: AnyPgColumn, end: AnyPgColumn) {
	return sql`(${start} is null and ${end} is null) or (${start} between 0 and 1439 and ${end} between 0 and 1439 and ${start} <> ${end})`;
}

/** What batch_operations.details_pruned holds (see there). */
export type DetailsPruned = {
	at: string;
	afterDays: number;
	byStatus: Record<string, number>;
	topErrors: { code: string; n: number; sample: string | null }[];
	done: boolean;
};

// The batch lists and the roles live in browser-safe modules the pages share; server
// code keeps importing them from here.
export { BATCH_STATUSES, BATCH_TYPES, ITEM_STATUSES, type BatchStatus, type BatchType, type ItemStatus } from '../../batch-kinds';
export { ROLES, type Role } from '../../roles';

// Bigint identity keys everywhere the table can grow large: COPY into a table with a
// time-ordered key runs ~3x faster here than with random UUIDv4 keys.
const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
	'users',
	{
		id: id(),
		email: text('email').notNull(),
		passwordHash: text('password_hash').notNull(),
		role: text('role').$type<Role>().notNull(),
		createdAt: createdAt(),
		/** Set when an admin disables the account: no sign-in, every session and token refused. */
		disabledAt: timestamp('disabled_at', { withTimezone: true })
	},
	(t) => [
		uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
		check('users_role_check', sql`${t.role} in ('admin','operator','viewer')`)
	]
);

/** Only the SHA-256 of a session token is stored: a leaked table opens no session. */
export const sessions = pgTable(
	'sessions',
	{
		tokenHash: text('token_hash').primaryKey(),
		userId: bigint('user_id', { mode: 'number' })
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		createdAt: createdAt(),
		expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
		userAgent: text('user_agent'),
		ip: text('ip')
	},
	(t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)]
);

export const apiTokens = pgTable(
	'api_tokens',
	{
		id: id(),
		userId: bigint('user_id', { mode: 'number' })
			.notNull()
			.references(() => users.id, { onDelete: 'cascade' }),
		name: text('name').notNull(),
		/** First characters of the token, shown in lists so a user can tell tokens apart. */
		prefix: text('prefix').notNull(),
		tokenHash: text('token_hash').notNull().unique(),
		createdAt: createdAt(),
		lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
		/** Optional end of life chosen at creation; null: until revoked. */
		expiresAt: timestamp('expires_at', { withTimezone: true })
	},
	(t) => [index('api_tokens_user_idx').on(t.userId)]
);

/**
 * The sign-in throttle, one row per key: "pair:<email> <addr>", "acct:<email>",
 * "ip:<addr>". Decided and recorded by one call of login_attempt() (hand-written in its
 * migration), so concurrent guesses cannot all read a count before any is written.
 */
export const loginThrottle = pgTable('login_throttle', {
	key: text('key').primaryKey(),
	/** Attempts counted against the key (success undoes its own), forgotten after LOGIN_WINDOW_MINUTES without one. */
	failures: integer('failures').notNull().default(0),
	/** The next attempt under this key is refused before this time (the back-off). */
	nextAt: timestamp('next_at', { withTimezone: true }).notNull().defaultNow(),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
});

/** One row per live worker process; a stale row means a dead worker whose jobs get unlocked. */
export const workerProcesses = pgTable('worker_processes', {
	id: text('id').primaryKey(),
	workerIds: text('worker_ids').array().notNull().default(sql`'{}'::text[]`),
	pid: integer('pid').notNull(),
	host: text('host').notNull(),
	startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
	lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow()
});

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

/**
 * The per-target ledger of SEND, TAG and DELETE batches: one row per contact.
 * contact_id is not a foreign key on purpose: deleting a contact must leave past
 * ledgers readable, so each item keeps its own snapshot of phone and name.
 */
export const batchItems = pgTable(
	'batch_items',
	{
		id: id(),
		batchId: uuid('batch_id')
			.notNull()
			.references(() => batchOperations.id, { onDelete: 'cascade' }),
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
		// Receipts find their item by the provider's message id.
		index('batch_items_provider_message_idx')
			.on(t.providerMessageId)
			.where(sql`${t.providerMessageId} is not null`)
	]
);

/** The per-row ledger of IMPORT batches: every row that did not simply go in, with why. */
export const importRows = pgTable(
	'import_rows',
	{
		batchId: uuid('batch_id')
			.notNull()
			.references(() => batchOperations.id, { onDelete: 'cascade' }),
		rowNumber: integer('row_number').notNull(),
		outcome: text('outcome').$type<'created' | 'updated' | 'duplicate' | 'invalid'>().notNull(),
		reason: text('reason'),
		/** The row's original cells, for the failed-rows download. */
		raw: jsonb('raw').$type<string[]>(),
		contactId: bigint('contact_id', { mode: 'number' }),
		/**
		 * An `updated` row: the contact as it was before this row overwrote it, and when the
		 * import wrote it (its chunk's transaction time, which is the contact's updated_at
		 * then). An undo puts these back if the contact has not changed since (undo/).
		 */
		prevName: text('prev_name'),
		prevTags: text('prev_tags').array(),
		prevAttributes: jsonb('prev_attributes').$type<Record<string, string>>(),
		writtenAt: timestamp('written_at', { withTimezone: true })
	},
	(t) => [
		primaryKey({ columns: [t.batchId, t.rowNumber] }),
		index('import_rows_batch_outcome_idx').on(t.batchId, t.outcome)
	]
);

/**
 * The upload of an IMPORT batch: which stored upload (upload_chunks) holds its file,
 * so a worker on any host can read it from the database.
 */
export const importUploads = pgTable('import_uploads', {
	batchId: uuid('batch_id')
		.primaryKey()
		.references(() => batchOperations.id, { onDelete: 'cascade' }),
	uploadId: uuid('upload_id').notNull().unique(),
	bytes: bigint('bytes', { mode: 'number' }).notNull(),
	header: jsonb('header').$type<string[]>().notNull(),
	createdAt: createdAt()
});

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * Uploaded CSV files, ~1 MiB per row, written while the request streams (one insert per
 * chunk, autocommit: an upload holds no transaction or pooled connection between
 * chunks) and read back in order by the worker; removed when the import ends. Rows are
 * written before the batch exists, hence no foreign key: chunks of an upload that never
 * became a batch (a killed web process) are swept by age (imports/upload-store.ts).
 */
export const uploadChunks = pgTable(
	'upload_chunks',
	{
		uploadId: uuid('upload_id').notNull(),
		seq: integer('seq').notNull(),
		data: bytea('data').notNull(),
		writtenAt: timestamp('written_at', { withTimezone: true }).notNull().defaultNow()
	},
	(t) => [primaryKey({ columns: [t.uploadId, t.seq] })]
);

/**
 * The frozen id list of a TAG or DELETE batch given explicit contact ids: sorted,
 * distinct, packed as 64-bit floats (exact for every bigint id below 2^53). A million
 * ids are 8 MB written and read back in milliseconds; the same list inside the batch's
 * jsonb input cost about a second to store and another to read when the worker started.
 */
export const batchTargets = pgTable('batch_targets', {
	batchId: uuid('batch_id')
		.primaryKey()
		.references(() => batchOperations.id, { onDelete: 'cascade' }),
	ids: bytea('ids').notNull()
});

/**
 * The row ranges of an import already committed, one per chunk, written by the chunk's
 * own statement. Chunks of one import run on two connections at once and may commit out
 * of order, so a resumed import skips exactly these rows; the key refuses a chunk
 * applied twice.
 */
export const importChunks = pgTable(
	'import_chunks',
	{
		batchId: uuid('batch_id')
			.notNull()
			.references(() => batchOperations.id, { onDelete: 'cascade' }),
		firstRow: integer('first_row').notNull(),
		lastRow: integer('last_row').notNull(),
		/**
		 * The contacts this chunk created, for an undo: one array per chunk costs the import
		 * next to nothing, where a ledger row per created contact would have doubled its
		 * writes. Null once purged (undo/purge.ts), and for imports from before undo.
		 */
		createdIds: bigint('created_ids', { mode: 'number' }).array(),
		/** The chunk's transaction time: the created contacts' updated_at as the import left them. */
		writtenAt: timestamp('written_at', { withTimezone: true }).defaultNow()
	},
	(t) => [primaryKey({ columns: [t.batchId, t.firstRow] })]
);

/** Contacts removed by a DELETE batch, kept whole so the batch can be restored. */
export const deletedContacts = pgTable(
	'deleted_contacts',
	{
		batchId: uuid('batch_id')
			.notNull()
			.references(() => batchOperations.id, { onDelete: 'cascade' }),
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

/**
 * Who changed what (audit/): one row per change made by a person or an API token, written
 * in the transaction of the change itself. Append-only: a trigger (in its migration)
 * refuses UPDATE, DELETE and TRUNCATE. No foreign keys: an entry outlives the account,
 * token, batch or channel it names (a cascade would have to edit it).
 */
export const auditLog = pgTable(
	'audit_log',
	{
		id: id(),
		at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
		/** The signed-in user, or the owner of the token used; null for a failed sign-in. */
		actorUserId: bigint('actor_user_id', { mode: 'number' }),
		actorEmail: text('actor_email'),
		/** Set when the change came with an API token. */
		actorTokenId: bigint('actor_token_id', { mode: 'number' }),
		actorTokenName: text('actor_token_name'),
		/** The procedure's name (batch.delete), or the route's for non-tRPC changes (upload). */
		action: text('action').notNull(),
		targetType: text('target_type'),
		targetId: text('target_id'),
		/** What changed (before/after where it matters); never secrets, passwords or tokens. */
		details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
		ip: text('ip')
	},
	(t) => [
		index('audit_log_at_idx').on(t.at),
		index('audit_log_action_at_idx').on(t.action, t.at),
		index('audit_log_actor_at_idx').on(t.actorUserId, t.at)
	]
);
