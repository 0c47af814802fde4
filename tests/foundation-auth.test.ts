/**
 * Sessions, API tokens, roles and login throttling through the real procedures and
 * services, against this file's own database.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { createUser } from '../src/lib/server/auth/users';
import { validateSession } from '../src/lib/server/auth/sessions';
import { validateApiToken } from '../src/lib/server/auth/tokens';
import { resolveAuth } from '../src/lib/server/auth/resolve';
import { sha256 } from '../src/lib/server/auth/crypto';
import { createCallerFactory, operatorProcedure, adminProcedure, authedProcedure, router } from '../src/lib/server/trpc/init';
import { anonymousContext } from '../src/lib/server/trpc/context';
import { caller, userCaller } from './helpers';

const PASSWORD = 'correct horse battery';

async function codeOf(p: Promise<unknown>): Promise<string> {
	try {
		await p;
	} catch (e) {
		if (e instanceof TRPCError) return e.code;
		throw e;
	}
	return 'OK';
}

/** Signs in through auth.login like the HTTP route does, capturing the cookie it sets. */
async function signIn(email: string, password = PASSWORD, ip = '10.0.0.1') {
	const cookies: Array<{ token: string | null; expiresAt?: Date }> = [];
	const res = await caller({ ip, setCookie: (token, expiresAt) => cookies.push({ token, expiresAt }) }).auth.login({
		email,
		password
	});
	return { res, token: cookies.at(-1)?.token ?? null, cookies };
}

async function newUser(role: 'admin' | 'operator' | 'viewer' = 'operator') {
	const email = `${role}-${Math.random().toString(36).slice(2, 8)}@auth.test`;
	const user = await createUser({ email, password: PASSWORD, role });
	return { ...user, email };
}

describe('sessions', () => {
	it('login sets a session cookie whose raw token is stored nowhere, only its SHA-256', async () => {
		const u = await newUser();
		const { res, token } = await signIn(u.email);
		expect(res.user.email).toBe(u.email);
		expect(token).toMatch(/^bd_sess_/);
		const rows = await sql()<{ j: string; token_hash: string }[]>`
			select row_to_json(s)::text as j, token_hash from sessions s where user_id = ${u.id}`;
		expect(rows).toHaveLength(1);
		expect(rows[0].token_hash).toBe(sha256(token!));
		expect(rows[0].j).not.toContain(token!);
		expect(rows[0].j).not.toContain(token!.slice('bd_sess_'.length));
		expect((await validateSession(token!))?.user.id).toBe(u.id);
	});

	it('refuses an expired session', async () => {
		const u = await newUser();
		const { token } = await signIn(u.email);
		await sql()`update sessions set expires_at = now() - interval '1 second' where token_hash = ${sha256(token!)}`;
		expect(await validateSession(token!)).toBeNull();
		const auth = await resolveAuth({ sessionToken: token });
		expect(auth.user).toBeNull();
		expect(await codeOf(caller({ user: auth.user, sessionToken: auth.sessionToken }).auth.me())).toBe('UNAUTHORIZED');
	});

	it('renews a session past half its lifetime (sliding expiry)', async () => {
		const u = await newUser();
		const { token } = await signIn(u.email);
		const fresh = await validateSession(token!);
		expect(fresh?.renewedUntil).toBeNull();
		await sql()`update sessions set expires_at = now() + interval '1 hour' where token_hash = ${sha256(token!)}`;
		const renewed = await validateSession(token!);
		expect(renewed?.renewedUntil).toBeInstanceOf(Date);
		expect(renewed!.renewedUntil!.getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
		const [row] = await sql()<{ expires_at: string }[]>`select expires_at::text from sessions where token_hash = ${sha256(token!)}`;
		expect(Math.abs(new Date(row.expires_at).getTime() - renewed!.renewedUntil!.getTime())).toBeLessThan(1000);
		// resolveAuth tells the HTTP layer to re-send the cookie.
		await sql()`update sessions set expires_at = now() + interval '1 hour' where token_hash = ${sha256(token!)}`;
		expect((await resolveAuth({ sessionToken: token })).renewedUntil).toBeInstanceOf(Date);
	});

	it('logout deletes the session and clears the cookie', async () => {
		const u = await newUser();
		const { token } = await signIn(u.email);
		const auth = await resolveAuth({ sessionToken: token });
		const cleared: Array<string | null> = [];
		await caller({ user: auth.user, sessionToken: token, setCookie: (t) => cleared.push(t) }).auth.logout();
		expect(cleared).toEqual([null]);
		expect((await sql()`select 1 from sessions where token_hash = ${sha256(token!)}`).length).toBe(0);
		expect(await validateSession(token!)).toBeNull();
	});
});

describe('API tokens', () => {
	it('creates a token shown once, lists it without any secret, and accepts it', async () => {
		const { call, user } = await userCaller('operator');
		const created = await call.tokens.create({ name: 'nightly' });
		expect(created.token).toMatch(/^bd_tok_/);
		const list = await call.tokens.list();
		expect(list).toHaveLength(1);
		expect(list[0]).not.toHaveProperty('token');
		expect(list[0]).not.toHaveProperty('tokenHash');
		expect(JSON.stringify(list)).not.toContain(created.token);
		expect(created.token.startsWith(list[0].prefix)).toBe(true);
		const [row] = await sql()<{ j: string }[]>`select row_to_json(t)::text as j from api_tokens t where user_id = ${user.id}`;
		expect(row.j).not.toContain(created.token);
		expect(row.j).toContain(sha256(created.token));
		const viaToken = await validateApiToken(created.token);
		expect(viaToken).toMatchObject({ id: user.id, role: 'operator', via: 'token' });
	});

	it('refuses a revoked token', async () => {
		const { call } = await userCaller('viewer');
		const created = await call.tokens.create({ name: 'temp' });
		await call.tokens.revoke({ id: created.id });
		expect(await validateApiToken(created.token)).toBeNull();
		expect((await resolveAuth({ bearer: created.token })).user).toBeNull();
		expect((await call.tokens.list())[0].revokedAt).toBeInstanceOf(Date);
		// Revoking twice, or another user's token, is a clear NOT_FOUND.
		expect(await codeOf(call.tokens.revoke({ id: created.id }))).toBe('NOT_FOUND');
		const other = await userCaller('admin');
		const theirs = await other.call.tokens.create({ name: 'theirs' });
		expect(await codeOf(call.tokens.revoke({ id: theirs.id }))).toBe('NOT_FOUND');
		expect(await validateApiToken(theirs.token)).not.toBeNull();
	});

	it('refuses malformed tokens without an error', async () => {
		const { call } = await userCaller('viewer');
		const created = await call.tokens.create({ name: 'x' });
		for (const bad of ['', 'garbage', 'bd_tok_', 'bd_tok_nope', created.token + 'x', created.token.slice(0, -1), 'bd_tok_' + 'a'.repeat(5000), "bd_tok_' or 1=1 --"]) {
			expect(await validateApiToken(bad), bad.slice(0, 30)).toBeNull();
		}
		// A bad bearer is refused even when a valid session cookie is also sent.
		const u = await newUser();
		const { token } = await signIn(u.email);
		expect((await resolveAuth({ bearer: 'garbage', sessionToken: token })).user).toBeNull();
	});

	it('validates token names', async () => {
		const { call } = await userCaller('viewer');
		expect(await codeOf(call.tokens.create({ name: '   ' }))).toBe('BAD_REQUEST');
	});
});

describe('roles', () => {
	// A router built from the real procedure builders: every later operator/admin route uses them.
	const probe = router({
		read: authedProcedure.query(() => 'read'),
		run: operatorProcedure.mutation(() => 'ran'),
		admin: adminProcedure.mutation(() => 'admin')
	});
	const probeCaller = (role: 'admin' | 'operator' | 'viewer' | null) =>
		createCallerFactory(probe)(
			anonymousContext({ user: role ? { id: 1, email: 'x@y.z', role, via: 'session' } : null })
		);

	it.each([
		['viewer', 'OK', 'FORBIDDEN', 'FORBIDDEN'],
		['operator', 'OK', 'OK', 'FORBIDDEN'],
		['admin', 'OK', 'OK', 'OK'],
		[null, 'UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED']
	] as const)('%s: read %s, operate %s, administer %s', async (role, read, run, admin) => {
		const c = probeCaller(role);
		expect(await codeOf(c.read())).toBe(read);
		expect(await codeOf(c.run())).toBe(run);
		expect(await codeOf(c.admin())).toBe(admin);
	});

	it('viewer and operator cannot manage users; admin can', async () => {
		const viewer = await userCaller('viewer');
		const operator = await userCaller('operator');
		const admin = await userCaller('admin');
		const input = { email: 'new@roles.test', password: 'long enough pw', role: 'viewer' as const };
		expect(await codeOf(viewer.call.users.list())).toBe('FORBIDDEN');
		expect(await codeOf(viewer.call.users.create(input))).toBe('FORBIDDEN');
		expect(await codeOf(operator.call.users.create(input))).toBe('FORBIDDEN');
		expect(await codeOf(operator.call.users.setRole({ id: viewer.user.id, role: 'admin' }))).toBe('FORBIDDEN');
		const created = await admin.call.users.create(input);
		expect(created.role).toBe('viewer');
		expect(await codeOf(admin.call.users.create(input))).toBe('CONFLICT');
		expect((await admin.call.users.setRole({ id: created.id, role: 'operator' })).role).toBe('operator');
		expect(await codeOf(admin.call.users.setRole({ id: 999999, role: 'operator' }))).toBe('NOT_FOUND');
		expect((await admin.call.users.list()).map((u) => u.email)).toContain('new@roles.test');
		// A role change applies to the user's next request.
		const { res } = await signIn('new@roles.test', 'long enough pw');
		expect(res.user.role).toBe('operator');
	});
});

describe('last admin', () => {
	it('refuses to demote the last admin with CONFLICT', async () => {
		const admin = await userCaller('admin');
		const second = await userCaller('admin');
		const others = (await admin.call.users.list()).filter((u) => u.role === 'admin' && u.id !== admin.user.id);
		for (const o of others) await admin.call.users.setRole({ id: o.id, role: 'operator' });
		expect(await codeOf(admin.call.users.setRole({ id: admin.user.id, role: 'viewer' }))).toBe('CONFLICT');
		expect((await admin.call.users.list()).find((u) => u.id === admin.user.id)?.role).toBe('admin');
		// With a second admin, it is allowed.
		await admin.call.users.setRole({ id: second.user.id, role: 'admin' });
		expect((await admin.call.users.setRole({ id: admin.user.id, role: 'operator' })).role).toBe('operator');
	});
});

// The sign-in throttle's tests are in security-login.test.ts (per account and address since issue 12).
