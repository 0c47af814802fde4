/**
 * Issue 12: every procedure of the app router (enumerated from appRouter._def.procedures,
 * so one added later is walked too) called by identities that must get nothing:
 * no credentials, an expired session, an expired token, a revoked token, a disabled user,
 * a deleted user, and a viewer for every mutation. Queries and mutations go through the
 * real HTTP path (the `handle` hook, then the /api/trpc route); subscriptions through a
 * real WebSocket. Each answer must be UNAUTHORIZED (viewer: FORBIDDEN) and carry no data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/lib/server/trpc/router';
import { SESSION_COOKIE, createSession } from '../src/lib/server/auth/sessions';
import { createApiToken } from '../src/lib/server/auth/tokens';
import { deleteUser, setUserDisabled } from '../src/lib/server/auth/users';
import { sql } from '../src/lib/server/db/client';
import { userCaller, waitFor } from './helpers';
import { codeOf, rawClient, startWsHttp } from './ws-helpers';
import { httpBatch, httpCall, type Creds, type Kind } from './http-call';

const PUBLIC = new Set(['health', 'auth.login']);
/** Mutations any signed-in user may run on their own account; every other one needs operator or admin. */
const SELF_SERVICE = new Set(['auth.logout', 'auth.changePassword', 'tokens.create', 'tokens.revoke']);
/** POSTed for the size of their input, but they only read (a viewer sees the count before an operator runs it). */
const READS_BY_POST = new Set(['batch.targetCount', 'batch.targetPhones']);

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: Kind } }>).map(
	([path, p]) => ({ path, type: p._def.type })
);

let srv: Awaited<ReturnType<typeof startWsHttp>>;
beforeAll(async () => {
	srv = await startWsHttp();
});
afterAll(async () => {
	await srv.stop();
});

/** A subscription over a real socket: the first reply must be the refusal, nothing started. */
async function wsSubscribe(path: string, creds: Creds) {
	const c = rawClient(srv.base, { token: creds.bearer, cookie: creds.cookie });
	const id = c.subscribe(path, {});
	await waitFor(() => c.replies.some((r) => r.id === id) || c.isClosed());
	const first = c.replies.find((r) => r.id === id);
	c.close();
	return { code: codeOf(first), hasData: c.replies.some((r) => r.result !== undefined) };
}

async function identities() {
	const expired = await userCaller('admin');
	const expiredSession = await createSession(expired.user.id);
	await sql()`update sessions set expires_at = now() - interval '1 minute' where user_id = ${expired.user.id}`;

	const expiring = await userCaller('admin');
	const expiredToken = await createApiToken(expiring.user.id, 'expired', new Date(Date.now() + 60_000));
	await sql()`update api_tokens set expires_at = now() - interval '1 second' where id = ${expiredToken.id}`;

	const revoker = await userCaller('admin');
	const revoked = await createApiToken(revoker.user.id, 'revoked');
	await revoker.call.tokens.revoke({ id: revoked.id });

	const actor = await userCaller('admin');
	const disabled = await userCaller('admin');
	const disabledToken = await createApiToken(disabled.user.id, 'disabled');
	const disabledSession = await createSession(disabled.user.id);
	await setUserDisabled(disabled.user.id, true, actor.user.id);

	// Disabled by a direct write (no session or token ended): the validation itself must refuse.
	const flagged = await userCaller('admin');
	const flaggedToken = await createApiToken(flagged.user.id, 'flagged');
	const flaggedSession = await createSession(flagged.user.id);
	await sql()`update users set disabled_at = now() where id = ${flagged.user.id}`;

	const deleted = await userCaller('admin');
	const deletedToken = await createApiToken(deleted.user.id, 'deleted');
	const deletedSession = await createSession(deleted.user.id);
	await deleteUser(deleted.user.id, actor.user.id);

	return {
		'no credentials': [{}],
		'expired session': [{ cookie: expiredSession.token }],
		'expired token': [{ bearer: expiredToken.token }],
		'revoked token': [{ bearer: revoked.token }],
		'disabled user': [
			{ bearer: disabledToken.token },
			{ cookie: disabledSession.token },
			{ bearer: flaggedToken.token },
			{ cookie: flaggedSession.token }
		],
		'deleted user': [{ bearer: deletedToken.token }, { cookie: deletedSession.token }]
	} satisfies Record<string, Creds[]>;
}

describe('every procedure walked with credentials that must open nothing', () => {
	it('finds the procedures to walk', () => {
		expect(procedures.length).toBeGreaterThanOrEqual(40);
		expect(procedures.some((p) => p.type === 'subscription')).toBe(true);
	});

	it('refuses each one with UNAUTHORIZED and no data', async () => {
		const ids = await identities();
		const leaks: string[] = [];
		let calls = 0;
		for (const [who, credsList] of Object.entries(ids)) {
			for (const creds of credsList) {
				for (const { path, type } of procedures) {
					if (PUBLIC.has(path)) continue;
					calls++;
					const r = type === 'subscription' ? await wsSubscribe(path, creds) : await httpCall(path, type, creds);
					if (r.code !== 'UNAUTHORIZED' || r.hasData) leaks.push(`${who} ${path}: ${r.code ?? 'data'}`);
				}
			}
		}
		const walked = procedures.filter((p) => !PUBLIC.has(p.path)).length;
		console.log(
			`walked ${walked} procedures × ${Object.keys(ids).length} identities (${calls} calls over HTTP and ws): ${leaks.length} leaks`
		);
		expect(leaks).toEqual([]);
	}, 120_000);

	it('refuses them inside a batched request and over the socket too', async () => {
		// Batching (HTTP ?batch=1) and the socket are other ways in: each call of a batch and
		// each query or mutation sent over a socket must be refused alike.
		const ids = await identities();
		const leaks: string[] = [];
		let calls = 0;
		for (const [who, credsList] of Object.entries(ids)) {
			for (const creds of credsList as Creds[]) {
				for (const type of ['query', 'mutation'] as const) {
					const paths = procedures.filter((p) => p.type === type && !PUBLIC.has(p.path)).map((p) => p.path);
					// TRPC_MAX_BATCH_SIZE (20) calls a request.
					for (let i = 0; i < paths.length; i += 20) {
						const chunk = paths.slice(i, i + 20);
						const { answers } = await httpBatch(chunk, type, creds);
						calls += chunk.length;
						if (answers.length !== chunk.length) leaks.push(`${who} batch of ${chunk.length}: ${answers.length} answers`);
						answers.forEach((r, k) => {
							if (r.code !== 'UNAUTHORIZED' || r.hasData) leaks.push(`${who} ${chunk[k]} in a batch: ${r.code ?? 'data'}`);
						});
					}
				}
				const c = rawClient(srv.base, { token: creds.bearer, cookie: creds.cookie });
				for (const { path, type } of procedures) {
					if (PUBLIC.has(path) || type === 'subscription') continue;
					calls++;
					const r = await Promise.race([c.call(type as 'query' | 'mutation', path), c.closed.then(() => null)]);
					// A socket closed at connect (no user) opens nothing either.
					if (r === null) continue;
					if (codeOf(r) !== 'UNAUTHORIZED' || r.result !== undefined) leaks.push(`${who} ${path} over ws: ${codeOf(r) ?? 'data'}`);
				}
				c.close();
			}
		}
		console.log(`walked queries and mutations × ${Object.keys(ids).length} identities in batches of 20 and over ws: ${calls} calls, ${leaks.length} leaks`);
		expect(leaks).toEqual([]);
	}, 120_000);

	it('refuses a viewer every mutation but their own account’s, with FORBIDDEN and no data', async () => {
		const { user } = await userCaller('viewer');
		const token = await createApiToken(user.id, 'viewer');
		const mutations = procedures.filter((p) => p.type === 'mutation' && !PUBLIC.has(p.path));
		const leaks: string[] = [];
		for (const { path } of mutations) {
			const r = await httpCall(path, 'mutation', { bearer: token.token });
			// Self-service ones run for a viewer; with no input they stop at the input check.
			const allowed = SELF_SERVICE.has(path) || READS_BY_POST.has(path);
			const expected = allowed ? (path === 'auth.logout' ? null : 'BAD_REQUEST') : 'FORBIDDEN';
			if (r.code !== expected || (expected !== null && r.hasData)) leaks.push(`${path}: ${r.code ?? 'data'}`);
		}
		console.log(`walked ${mutations.length} mutations as a viewer: ${mutations.length - SELF_SERVICE.size - READS_BY_POST.size} forbidden, ${leaks.length} leaks`);
		expect(leaks).toEqual([]);
	}, 60_000);
});
