import { and, eq, gt, lt, sql as dsql } from 'drizzle-orm';
import { db } from '../db/client';
import { sessions, users } from '../db/schema';
import { newSecret, sha256 } from './crypto';
import type { AuthUser } from './types';
import { env } from '../env';

export const SESSION_COOKIE = 'bd_session';

function ttlMs() {
	return env().auth.sessionTtlHours * 3600_000;
}

export async function createSession(userId: number, meta: { ip?: string; userAgent?: string | null } = {}) {
	const token = newSecret('bd_sess_');
	const expiresAt = new Date(Date.now() + ttlMs());
	await db()
		.insert(sessions)
		.values({ tokenHash: sha256(token), userId, expiresAt, ip: meta.ip, userAgent: meta.userAgent ?? null });
	return { token, expiresAt };
}

/**
 * Resolves a session token to its user. A session past half its lifetime is renewed
 * (sliding expiry): `renewedUntil` tells the caller to re-send the cookie.
 */
export async function validateSession(
	token: string
): Promise<{ user: AuthUser; expiresAt: Date; renewedUntil: Date | null } | null> {
	if (!token.startsWith('bd_sess_')) return null;
	const hash = sha256(token);
	const [row] = await db()
		.select({ id: users.id, email: users.email, role: users.role, expiresAt: sessions.expiresAt })
		.from(sessions)
		.innerJoin(users, eq(users.id, sessions.userId))
		.where(and(eq(sessions.tokenHash, hash), gt(sessions.expiresAt, dsql`now()`)));
	if (!row) return null;
	let renewedUntil: Date | null = null;
	if (row.expiresAt.getTime() - Date.now() < ttlMs() / 2) {
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

export async function deleteExpiredSessions() {
	await db().delete(sessions).where(lt(sessions.expiresAt, dsql`now()`));
}
