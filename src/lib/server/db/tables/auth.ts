import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, createdAt } from './columns';
import type { Role } from '../../../roles';

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
