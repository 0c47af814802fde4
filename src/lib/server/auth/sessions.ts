import { and, eq, gt, isNull, lt, sql as dsql } from 'drizzle-orm';
import { db, sql, transaction, type Executor } from '../db/client';
import { sessions, users } from '../db/schema';
import { DomainError } from '../errors';
import { newSecret, sha256 } from './crypto';
import type { AuthUser } from './types';
import { env } from '../env';
import { audit, type AuditCtx } from '../audit/record';

export const SESSION_COOKIE = 'bd_session';

function ttlMs() {
	return env().auth.sessionTtlHours * 3600_000;
}

/** Opens a session; a disabled (or deleted) account gets none, whatever its password. */
export async function createSession(userId: number, meta: { ip?: string; userAgent?: string | null } = {}, ex: Executor = sql()) {
	const token = newSecret('bd_sess_');
	const expiresAt = new Date(Date.now() + ttlMs());
	// One statement: the account is checked and the session written together, so a
	// disable that commits meanwhile cannot leave a session behind.
	const rows = await ex<{ n: number }[]>`
		insert into sessions (token_hash, user_id, expires_at, ip, user_agent)
		select ${sha256(token)}, ${userId}, ${expiresAt.toISOString()}::timestamptz, ${meta.ip ?? null}, ${meta.userAgent ?? null}
		from users where id = ${userId} and disabled_at is null
		returning 1 as n`;
	if (rows.length === 0) throw new DomainError('UNAUTHORIZED', 'This account is disabled.');
	return { token, expiresAt };
}

/**
 * Resolves a session token to its user (refused once expired, or when the user is
 * disabled). A session past half its lifetime is renewed (sliding expiry):
 * `renewedUntil` tells the caller to re-send the cookie. `renew: false` (the ws re-checks,
 * which cannot re-send a cookie) reads without renewing.
 */
export async function validateSession(
	token: string,
	opts: { renew?: boolean } = {}
): Promise<{ user: AuthUser; expiresAt: Date; renewedUntil: Date | null } | null> {
	if (!token.startsWith('bd_sess_')) return null;
	const hash = sha256(token);
	const [row] = await db()
		.select({ id: users.id, email: users.email, role: users.role, expiresAt: sessions.expiresAt })
		.from(sessions)
		.innerJoin(users, eq(users.id, sessions.userId))
		.where(and(eq(sessions.tokenHash, hash), gt(sessions.expiresAt, dsql`now()`), isNull(users.disabledAt)));
	if (!row) return null;
	let renewedUntil: Date | null = null;
	if (opts.renew !== false && row.expiresAt.getTime() - Date.now() < ttlMs() / 2) {
		renewedUntil = new Date(Date.now() + ttlMs());
		await db().update(sessions).set({ expiresAt: renewedUntil }).where(eq(sessions.tokenHash, hash));
	}
	return {
		user: { id: row.id, email: row.email, role: row.role, via: 'session' },
		expiresAt: renewedUntil ?? row.expiresAt,
		renewedUntil
	};
}

export async function deleteSession(token: string) {
	await db().delete(sessions).where(eq(sessions.tokenHash, sha256(token)));
}

/** auth.logout: the session ends and the sign-out is recorded, together. */
export async function signOut(token: string, by: AuditCtx) {
	await transaction(async (tx) => {
		const [row] = await tx<{ userId: number }[]>`
			delete from sessions where token_hash = ${sha256(token)} returning user_id::float8 as "userId"`;
		if (row) await audit(tx, by, 'auth.logout', { type: 'user', id: row.userId });
	});
}

/** Ends every session of a user, except the one given (the caller's own, on a password change). */
export async function deleteUserSessions(userId: number, keepToken?: string | null, ex: Executor = sql()) {
	await ex`
		delete from sessions
		where user_id = ${userId}
			and token_hash is distinct from ${keepToken ? sha256(keepToken) : null}`;
}

export async function deleteExpiredSessions() {
	await db().delete(sessions).where(lt(sessions.expiresAt, dsql`now()`));
}
