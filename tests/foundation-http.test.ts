/**
 * HTTP requests through the app's real request path: the SvelteKit `handle` hook
 * (credentials from cookie or Bearer header) and the /api/trpc route
 * (fetchRequestHandler), with a minimal stand-in for SvelteKit's RequestEvent.
 */
import { describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { SESSION_COOKIE } from '../src/lib/server/auth/sessions';
import { createApiToken, revokeApiToken } from '../src/lib/server/auth/tokens';
import { sql } from '../src/lib/server/db/client';
import { sha256 } from '../src/lib/server/auth/crypto';
import { userCaller } from './helpers';
import { BASE, trpcRequest } from './http-inprocess';

const request = trpcRequest;

const me = (init: Parameters<typeof request>[1] = {}) => request(`${BASE}/api/trpc/auth.me`, init);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function login(email: string, password: string, base = BASE) {
	return request(`${base}/api/trpc/auth.login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(superjson.serialize({ email, password }))
	});
}

describe('HTTP API', () => {
	it('answers health anonymously', async () => {
		const { res, body } = await request(`${BASE}/api/trpc/health`);
		expect(res.status).toBe(200);
		const health = superjson.deserialize<{ ok: boolean; database: { ok: boolean; now: Date } }>(body.result.data);
		expect(health.ok).toBe(true);
		expect(health.database.now).toBeInstanceOf(Date);
		expect(Math.abs(health.database.now.getTime() - Date.now())).toBeLessThan(60_000);
	});

	it('refuses an anonymous call with 401 UNAUTHORIZED', async () => {
		const { res, body } = await me();
		expect(res.status).toBe(401);
		expect(body.error.json.data.code).toBe('UNAUTHORIZED');
	});

	it('accepts a Bearer API token and refuses malformed and revoked ones with 401', async () => {
		const { user } = await userCaller('operator');
		const t = await createApiToken(user.id, 'http');
		const ok = await me(bearer(t.token));
		expect(ok.res.status).toBe(200);
		expect(ok.body.result.data.json).toMatchObject({ id: user.id, role: 'operator', via: 'token' });

		for (const header of ['Bearer nonsense', `Bearer ${t.token}x`, 'Bearer ', 'Basic abc', `Bearer ${'x'.repeat(10_000)}`]) {
			const bad = await me({ headers: { authorization: header } });
			expect(bad.res.status, header.slice(0, 20)).toBe(401);
			expect(bad.body.error.json.data.code).toBe('UNAUTHORIZED');
		}
		await revokeApiToken(user.id, t.id);
		const revoked = await me(bearer(t.token));
		expect(revoked.res.status).toBe(401);
	});

	it('signs in with a HttpOnly SameSite=Lax cookie, Secure only under https', async () => {
		const { user } = await userCaller('viewer');
		const { res, setCookies } = await login(user.email, 'correct horse battery');
		expect(res.status).toBe(200);
		const cookie = setCookies.find((c) => c.name === SESSION_COOKIE)!;
		expect(cookie.value).toMatch(/^bd_sess_/);
		expect(cookie.opts).toMatchObject({ httpOnly: true, sameSite: 'lax', secure: false, path: '/' });
		const viaCookie = await me({ cookie: cookie.value });
		expect(viaCookie.res.status).toBe(200);
		expect(viaCookie.body.result.data.json.email).toBe(user.email);

		const https = await login(user.email, 'correct horse battery', 'https://batchdesk.test');
		expect(https.setCookies.find((c) => c.name === SESSION_COOKIE)!.opts.secure).toBe(true);
	});

	it('gives clear refusals, never a 500: wrong password, bad input, expired session', async () => {
		const { user } = await userCaller('viewer');
		const wrong = await login(user.email, 'not the password');
		expect(wrong.res.status).toBe(401);
		expect(wrong.body.error.json.message).toMatch(/wrong email or password/i);

		const bad = await login('not-an-email', '');
		expect(bad.res.status).toBe(400);
		expect(Object.keys(bad.body.error.json.data.zodError.fieldErrors).sort()).toEqual(['email', 'password']);

		const { setCookies } = await login(user.email, 'correct horse battery');
		const token = setCookies.find((c) => c.name === SESSION_COOKIE)!.value;
		await sql()`update sessions set expires_at = now() - interval '1 minute' where token_hash = ${sha256(token)}`;
		const expired = await me({ cookie: token });
		expect(expired.res.status).toBe(401);
		// The dead cookie is dropped.
		expect(expired.setCookies.some((c) => c.name === SESSION_COOKIE && c.value === '')).toBe(true);
	});

	it('re-sends the cookie when a session is renewed', async () => {
		const { user } = await userCaller('viewer');
		const { setCookies } = await login(user.email, 'correct horse battery');
		const token = setCookies.find((c) => c.name === SESSION_COOKIE)!.value;
		await sql()`update sessions set expires_at = now() + interval '1 hour' where token_hash = ${sha256(token)}`;
		const renewed = await me({ cookie: token });
		expect(renewed.res.status).toBe(200);
		const sent = renewed.setCookies.find((c) => c.name === SESSION_COOKIE)!;
		expect(sent.value).toBe(token);
		expect((sent.opts.expires as Date).getTime()).toBeGreaterThan(Date.now() + 24 * 3600_000);
	});

	it('logs out: the session is deleted and the cookie cleared', async () => {
		const { user } = await userCaller('viewer');
		const { setCookies } = await login(user.email, 'correct horse battery');
		const token = setCookies.find((c) => c.name === SESSION_COOKIE)!.value;
		const out = await request(`${BASE}/api/trpc/auth.logout`, {
			method: 'POST',
			cookie: token,
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(superjson.serialize(undefined))
		});
		expect(out.res.status).toBe(200);
		expect(out.setCookies.some((c) => c.name === SESSION_COOKIE && c.value === '')).toBe(true);
		expect((await me({ cookie: token })).res.status).toBe(401);
	});

	it('redirects an anonymous page request to the login page', async () => {
		// Returned (not thrown) by the hook, so it carries the security headers.
		const { res } = await request(`${BASE}/settings?x=1`);
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/settings?x=1')}`);
		expect(res.headers.get('x-frame-options')).toBe('DENY');
	});
	it('refuses a JSON body over the cap with 413 and points to the CSV upload, writing nothing', async () => {
		const { user } = await userCaller('operator');
		const { token } = await createApiToken(user.id, 'big');
		const contacts = Array.from({ length: 200_000 }, (_, i) => ({ phoneE164: `+1415555${String(i).padStart(4, '0')}`, name: 'x'.repeat(60) }));
		const body = JSON.stringify(superjson.serialize({ contacts }));
		expect(body.length).toBeGreaterThan(16 * 1024 * 1024);
		const before = await sql()`select count(*)::int as n from batch_operations`;
		const res = await request(`${BASE}/api/trpc/batch.import`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
			body
		});
		expect(res.res.status).toBe(413);
		expect(res.body.error.json.data.code).toBe('PAYLOAD_TOO_LARGE');
		expect(res.body.error.json.message).toMatch(/\/api\/imports/);
		const after = await sql()`select count(*)::int as n from batch_operations`;
		expect(after[0].n).toBe(before[0].n);
	});
});
