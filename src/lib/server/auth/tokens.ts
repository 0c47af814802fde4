import { and, desc, eq, isNull } from 'drizzle-orm';
import { db } from '../db/client';
import { apiTokens, users } from '../db/schema';
import { notFound } from '../errors';
import { newSecret, sha256 } from './crypto';
import type { AuthUser } from './types';

const PREFIX = 'bd_tok_';

/** Creates a token; the secret is returned this once and only its hash is kept. */
export async function createApiToken(userId: number, name: string) {
	const token = newSecret(PREFIX);
	const [row] = await db()
		.insert(apiTokens)
		.values({ userId, name, prefix: token.slice(0, PREFIX.length + 6), tokenHash: sha256(token) })
		.returning({ id: apiTokens.id, name: apiTokens.name, prefix: apiTokens.prefix, createdAt: apiTokens.createdAt });
	return { ...row, token };
}

export async function listApiTokens(userId: number) {
	return db()
		.select({
			id: apiTokens.id,
			name: apiTokens.name,
			prefix: apiTokens.prefix,
			createdAt: apiTokens.createdAt,
			lastUsedAt: apiTokens.lastUsedAt,
			revokedAt: apiTokens.revokedAt
		})
		.from(apiTokens)
		.where(eq(apiTokens.userId, userId))
		.orderBy(desc(apiTokens.id));
}

export async function revokeApiToken(userId: number, id: number) {
	const [row] = await db()
		.update(apiTokens)
		.set({ revokedAt: new Date() })
		.where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
		.returning({ id: apiTokens.id });
	if (!row) throw notFound(`No active token ${id}.`, 'id');
	return row;
}

export async function validateApiToken(token: string): Promise<AuthUser | null> {
	if (!token.startsWith(PREFIX) || token.length > 200) return null;
	const [row] = await db()
		.select({ tokenId: apiTokens.id, id: users.id, email: users.email, role: users.role, lastUsedAt: apiTokens.lastUsedAt })
		.from(apiTokens)
		.innerJoin(users, eq(users.id, apiTokens.userId))
		.where(and(eq(apiTokens.tokenHash, sha256(token)), isNull(apiTokens.revokedAt)));
	if (!row) return null;
	// Write last_used_at at most once a minute: scripts make many calls.
	if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
		await db().update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
	}
	return { id: row.id, email: row.email, role: row.role, via: 'token' };
}
