import { bigint, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt, bytea } from './columns';
import { batchRef } from './batches';


/** The per-row ledger of IMPORT batches: every row that did not simply go in, with why. */
export const importRows = pgTable(
	'import_rows',
	{
		batchId: batchRef().notNull(),
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
	batchId: batchRef().primaryKey(),
	uploadId: uuid('upload_id').notNull().unique(),
	bytes: bigint('bytes', { mode: 'number' }).notNull(),
	header: jsonb('header').$type<string[]>().notNull(),
	createdAt: createdAt()
});

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
 * The row ranges of an import already committed, one per chunk, written by the chunk's
 * own statement. Chunks of one import run on two connections at once and may commit out
 * of order, so a resumed import skips exactly these rows; the key refuses a chunk
 * applied twice.
 */
export const importChunks = pgTable(
	'import_chunks',
	{
		batchId: batchRef().notNull(),
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
