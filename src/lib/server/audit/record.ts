import type { Executor } from '../db/client';
import type { AuthUser } from '../auth/types';

/**
 * The audit log's one writer. Every change made by a person or an API token calls
 * `audit(tx, by, action, target, details)` inside the transaction of the change: the
 * entry commits with it, and a change that fails or rolls back leaves none. One insert
 * per change (never one per contact), so it costs the same for 1 and 1 000 000 rows.
 */

/**
 * Who acts, and from where: what the tRPC context carries (trpc/context.ts matches it), or
 * what a route builds from its request. Services take it as an optional last argument:
 * absent, the change was made by no person (the worker, a script, a test's setup) and
 * nothing is recorded.
 */
export type AuditCtx = { user: AuthUser | null; ip: string };

/**
 * The procedure names recorded (routes outside tRPC by their own name). A new mutation
 * adds its name here and one audit() call in its service's transaction.
 */
export const AUDIT_ACTIONS = [
	'auth.login',
	'auth.logout',
	'auth.changePassword',
	'tokens.create',
	'tokens.revoke',
	'users.create',
	'users.setRole',
	'users.setDisabled',
	'users.delete',
	'users.resetPassword',
	'channels.create',
	'channels.update',
	'channels.delete',
	'templates.create',
	'templates.update',
	'templates.delete',
	'contacts.update',
	'batch.import',
	/** POST /api/imports, the streaming CSV upload. */
	'upload',
	'batch.send',
	'batch.tags',
	'batch.delete',
	'batch.cancel',
	'batch.pause',
	'batch.resume',
	'batch.retryFailed',
	'batch.resendUnknown',
	'batch.markUnknownSent',
	// Recorded by undo/create.ts in the transaction that creates the UNDO batch.
	'batch.undo'
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditTarget = { type: 'batch' | 'user' | 'token' | 'channel' | 'template' | 'contact' | 'session'; id: string | number | null };

/** Keys never written to an entry, at any depth, whatever a caller passes: a second line of defence. */
// The channel secrets are channels/service.ts's SECRET_KEYS, spelled out: importing that
// module here would make an import cycle (it records its own changes through this one).
const NEVER = new Set<string>(['secret', 'authToken', 'accessToken', 'verifyToken', 'appSecret', 'password', 'oldPassword', 'newPassword', 'passwordHash', 'token', 'tokenHash', 'sessionToken']);

export function scrub(v: unknown, depth = 0): unknown {
	if (depth > 8) return null;
	if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
	if (v instanceof Date) return v.toISOString();
	if (v && typeof v === 'object') {
		return Object.fromEntries(
			Object.entries(v)
				.filter(([k, x]) => !NEVER.has(k) && x !== undefined)
				.map(([k, x]) => [k, scrub(x, depth + 1)])
		);
	}
	return v;
}

export async function audit(
	tx: Executor,
	by: AuditCtx | undefined,
	action: AuditAction,
	target: AuditTarget | null,
	details: Record<string, unknown> = {}
): Promise<void> {
	if (!by) return;
	const u = by.user;
	await tx`
		insert into audit_log (actor_user_id, actor_email, actor_token_id, actor_token_name, action, target_type, target_id, details, ip)
		values (${u?.id ?? null}, ${u?.email ?? null}, ${u?.tokenId ?? null}, ${u?.tokenName ?? null}, ${action},
			${target?.type ?? null}, ${target?.id == null ? null : String(target.id)}, ${JSON.stringify(scrub(details))}::jsonb,
			${by.ip || null})`;
}
