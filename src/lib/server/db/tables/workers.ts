import { sql } from 'drizzle-orm';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per live worker process; a stale row means a dead worker whose jobs get unlocked. */
export const workerProcesses = pgTable('worker_processes', {
	id: text('id').primaryKey(),
	workerIds: text('worker_ids').array().notNull().default(sql`'{}'::text[]`),
	pid: integer('pid').notNull(),
	host: text('host').notNull(),
	startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
	lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow()
});
