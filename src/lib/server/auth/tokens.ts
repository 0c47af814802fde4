import { and, desc, eq, gt, isNull, or, sql as dsql } from 'drizzle-orm';
import { db, transaction, type Tx } from '../db/client';
import { audit, type AuditCtx } from '../audit/record';
import { apiTokens, users } from '../db/schema';
import { badInput, notFound } from '../errors';
import { newSecret, sha256 } from './crypto';
import type { AuthUser } from './types';

const PREFIX = 'bd_tok_';

/**
 * Creates a token; the secret is returned this once and only its hash is kept.
 * `expiresAt` (optional) ends it by itself; without it the token lives until revoked.
 */
export async function createApiToken(userId: number, name: string, expiresAt: Date | null = null, by?: AuditCtx) {
	if (expiresAt && expiresAt.getTime() <= Date.now()) throw badInput('The expiry must be in the future.', 'expiresAt');
	const token = newSecret(PREFIX);
	return transaction(async (tx) => {
		const row = await insertToken(tx, userId, name, token, expiresAt);
		// The name and expiry only: the secret is never written anywhere but the caller's answer.
		await audit(tx, by, 'tokens.create', { type: 'token', id: row.id }, { name, ownerId: userId, expiresAt });
		return { ...row, token };
	});
}

async function insertToken(tx: Tx, userId: number, name: string, token: string, expiresAt: Date | null) {
	const [row] = await tx<{ id: number; name: string; prefix: string; createdAt: Date; expiresAt: Date | null }[]>`
		insert into api_tokens (user_id, name, prefix, token_hash, expires_at)
		values (${userId}, ${name}, ${token.slice(0, PREFIX.length + 6)}, ${sha256(token)}, ${expiresAt ? expiresAt.toISOString() : null}::timestamptz)
		returning id::float8 as id, name, prefix, created_at as "createdAt", expires_at as "expiresAt"`;
	return row;
}

const listed = {
	id: apiTokens.id,
	name: apiTokens.name,
	prefix: apiTokens.prefix,
	createdAt: apiTokens.createdAt,
	lastUsedAt: apiTokens.lastUsedAt,
	expiresAt: apiTokens.expiresAt,
	revokedAt: apiTokens.revokedAt
};

export async function listApiTokens(userId: number) {
	return db().select(listed).from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.id));
}

/** Every user's tokens, with their owner (admins). */
export async function listAllApiTokens() {
	return db()
		.select({ ...listed, userId: apiTokens.userId, userEmail: users.email })
		.from(apiTokens)
		.innerJoin(users, eq(users.id, apiTokens.userId))
		.orderBy(desc(apiTokens.id));
}

/** Revokes a token of `ownerId`, or any user's token when `ownerId` is null (an admin). */
export async function revokeApiToken(ownerId: number | null, id: number, by?: AuditCtx) {
	return transaction(async (tx) => {
		const [row] = await tx<{ id: number; name: string; userId: number }[]>`
			update api_tokens set revoked_at = now()
			where id = ${id}
				and (${ownerId}::bigint is null or user_id = ${ownerId})
				and revoked_at is null
			returning id::float8 as id, name, user_id::float8 as "userId"`;
		if (!row) throw notFound(`No active token ${id}.`, 'id');
		await audit(tx, by, 'tokens.revoke', { type: 'token', id }, { name: row.name, ownerId: row.userId });
		return { id: row.id };
	});
}

/** Ends every active token of a user (disabled accounts). */
export async function revokeUserTokens(userId: number) {
	await db()
		.update(apiTokens)
		.set({ revokedAt: new Date() })
		.where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)));
}

/** The token's user, unless the token is revoked or expired or its user disabled; with the token's expiry. */
export async function validateApiTokenWithExpiry(token: string): Promise<{ user: AuthUser; expiresAt: Date | null } | null> {
	if (!token.startsWith(PREFIX) || token.length > 200) return null;
	const [row] = await db()
		.select({
			tokenId: apiTokens.id,
			tokenName: apiTokens.name,
			id: users.id,
			email: users.email,
			role: users.role,
			lastUsedAt: apiTokens.lastUsedAt,
			expiresAt: apiTokens.expiresAt
		})
		.from(apiTokens)
		.innerJoin(users, eq(users.id, apiTokens.userId))
		.where(
			and(
				eq(apiTokens.tokenHash, sha256(token)),
				isNull(apiTokens.revokedAt),
				isNull(users.disabledAt),
				or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, dsql`now()`))
			)
		);
	if (!row) return null;
	// Write last_used_at at most once a minute: scripts make many calls.
	if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
		await db().update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.tokenId));
	}
	return {
		user: { id: row.id, email: row.email, role: row.role, via: 'token', tokenId: row.tokenId, tokenName: row.tokenName },
		expiresAt: row.expiresAt
	};
}

export async function validateApiToken(token: string): Promise<AuthUser | null> {
	return (await validateApiTokenWithExpiry(token))?.user ?? null;
}
