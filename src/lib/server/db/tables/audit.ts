import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { id } from './columns';

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
