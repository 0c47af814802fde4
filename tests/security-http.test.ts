/**
 * Attacks on the built app (`node server.js`, as `npm start` runs it), over real HTTP:
 * password guessing in parallel and in batches, open redirects after sign-in, and the
 * security headers of every page and API route. Client addresses come from
 * X-Forwarded-For (ADDRESS_HEADER), so one test can be an attacker and the real admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { createUser } from '../src/lib/server/auth/users';
import { createSendBatch } from '../src/lib/server/send/create';
import { startApp, type RunningApp } from './e2e/app';
import { sql } from '../src/lib/server/db/client';
import { launchBrowser } from './e2e/browser';

const ADMIN = { email: 'admin@sec.test', password: 'the real admin password' };
/** Signs in for the redirect and header checks, apart from the account the guessing tests attack. */
const OPERATOR = { email: 'operator@sec.test', password: 'an operator password' };
let app: RunningApp;
let adminId: number;

beforeAll(async () => {
	adminId = (await createUser({ ...ADMIN, role: 'admin' })).id;
	await createUser({ ...OPERATOR, role: 'operator' });
	app = await startApp({
		DATABASE_URL: process.env.DATABASE_URL!,
		ADDRESS_HEADER: 'x-forwarded-for',
		// The attack must meet the limit, not the clock: with the default 2 s first back-off,
		// a slow machine could let one guess more through between two of the 100.
		LOGIN_BACKOFF_SECONDS: '600'
	});
}, 600_000);

afterAll(async () => {
	await app?.stop();
});

function login(email: string, password: string, ip: string) {
	return fetch(`${app.url}/api/trpc/auth.login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
		body: JSON.stringify(superjson.serialize({ email, password }))
	});
}

/** The tRPC error code of a failed call, or 'OK'. */
async function codeOf(res: Response, index?: number): Promise<string> {
	const body = await res.json();
	const item = index === undefined ? body : body[index];
	return item.error ? item.error.json.data.code : 'OK';
}

describe('password guessing', () => {
	it('100 concurrent guesses from one address: 10 checked, 90 throttled; the real admin still signs in from elsewhere', async () => {
		const attacker = '198.51.100.7';
		const codes = await Promise.all(
			Array.from({ length: 100 }, async (_, i) => codeOf(await login(ADMIN.email, `guess ${i}`, attacker)))
		);
		const checked = codes.filter((c) => c === 'UNAUTHORIZED').length;
		const throttled = codes.filter((c) => c === 'TOO_MANY_REQUESTS').length;
		console.log(`100 concurrent guesses: ${checked} checked, ${throttled} throttled`);
		expect(checked).toBe(10);
		expect(throttled).toBe(90);
		// Even the right password is refused from the attacker's address now…
		expect(await codeOf(await login(ADMIN.email, ADMIN.password, attacker))).toBe('TOO_MANY_REQUESTS');
		// …but the real admin, from their own address, is not locked out.
		const res = await login(ADMIN.email, ADMIN.password, '203.0.113.20');
		expect(res.status).toBe(200);
		expect(res.headers.get('set-cookie')).toMatch(/^bd_session=/);
	});

	it('100 guesses in one batched request: refused whole, none checked', async () => {
		const ip = '198.51.100.8';
		const paths = Array.from({ length: 100 }, () => 'auth.login').join(',');
		const input = Object.fromEntries(
			Array.from({ length: 100 }, (_, i) => [i, superjson.serialize({ email: ADMIN.email, password: `batch ${i}` })])
		);
		const res = await fetch(`${app.url}/api/trpc/${paths}?batch=1`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
			body: JSON.stringify(input)
		});
		expect(res.status).toBe(400);
		const [row] = await sql()<{ failures: number }[]>`select failures from login_throttle where key = ${`pair:${ADMIN.email} ${ip}`}`;
		const checked = row?.failures ?? 0;
		console.log(`100 guesses in one batch: ${checked} checked, ${100 - checked} refused (batch over TRPC_MAX_BATCH_SIZE)`);
		expect(checked).toBe(0);

		// A small batch is under the cap, but auth.login refuses to run inside it.
		const two = await fetch(`${app.url}/api/trpc/auth.login,auth.login?batch=1`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
			body: JSON.stringify({ 0: superjson.serialize({ email: ADMIN.email, password: 'a' }), 1: superjson.serialize({ email: ADMIN.email, password: 'b' }) })
		});
		const body = await two.json();
		expect(body.map((r: { error: { json: { data: { code: string } } } }) => r.error.json.data.code)).toEqual(['BAD_REQUEST', 'BAD_REQUEST']);
		const [after] = await sql()<{ failures: number }[]>`select failures from login_throttle where key = ${`pair:${ADMIN.email} ${ip}`}`;
		expect(after?.failures ?? 0).toBe(0);

		// A batch of one is how the app's own client sends a lone call: it works.
		const one = await fetch(`${app.url}/api/trpc/auth.login?batch=1`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
			body: JSON.stringify({ 0: superjson.serialize(ADMIN) })
		});
		expect(await codeOf(one, 0)).toBe('OK');
	});
});

async function sessionCookie(): Promise<string> {
	const res = await login(OPERATOR.email, OPERATOR.password, '203.0.113.30');
	expect(res.status).toBe(200);
	return res.headers.get('set-cookie')!.split(';')[0];
}

describe('redirect after sign-in', () => {
	const attacks = ['/\\evil.example', '//evil.example', '/%5Cevil.example', 'https://evil.example', 'javascript:alert(1)', '/\t/evil.example'];
	let kept = 0;
	afterAll(() => console.log(`redirect after sign-in: ${attacks.length} hostile next= values, ${kept} kept on this site`));

	it.each(attacks)('a signed-in user opening /login?next=%s stays on this site', async (next) => {
		const cookie = await sessionCookie();
		const res = await fetch(`${app.url}/login?next=${encodeURIComponent(next)}`, { headers: { cookie }, redirect: 'manual' });
		expect(res.status).toBe(303);
		const location = res.headers.get('location')!;
		// Resolved as a browser would: still this origin.
		expect(new URL(location, app.url).origin).toBe(app.url);
		expect(location.startsWith('/') && !location.startsWith('//') && !location.startsWith('/\\')).toBe(true);
		kept++;
	});

	it('keeps a same-origin path with its query', async () => {
		const cookie = await sessionCookie();
		const res = await fetch(`${app.url}/login?next=${encodeURIComponent('/batches?type=SEND')}`, { headers: { cookie }, redirect: 'manual' });
		expect(res.headers.get('location')).toBe('/batches?type=SEND');
	});
});

describe('security headers', () => {
	const PAGES = [
		'/',
		'/login',
		'/contacts',
		'/batches',
		'/batches/import',
		'/batches/send',
		'/batches/tags',
		'/batches/delete',
		'/batches/stats',
		'/outbox',
		'/settings',
		'/settings/channels',
		'/settings/users',
		'/templates',
		'/no-such-page'
	];

	function expectCommon(res: Response, what: string) {
		const h = res.headers;
		expect(h.get('x-content-type-options'), what).toBe('nosniff');
		expect(h.get('x-frame-options'), what).toBe('DENY');
		expect(h.get('referrer-policy'), what).toBe('strict-origin-when-cross-origin');
		const csp = h.get('content-security-policy') ?? '';
		expect(csp, what).toMatch(/frame-ancestors 'none'/);
		// http here: no HSTS (a browser ignores it over http, and it must not pin a dev host).
		expect(h.get('strict-transport-security'), what).toBeNull();
		return csp;
	}

	it('are on every page, signed in or not, with a script policy that allows no inline script but the nonced one', async () => {
		const cookie = await sessionCookie();
		const [contact] = await sql()<{ id: number }[]>`insert into contacts (phone_e164, name) values ('+8613800000101', 'Ann') returning id::int as id`;
		const { batch } = await createSendBatch({ contactIds: [contact.id], content: 'hi' }, adminId);
		const pages = [...PAGES, `/batches/${batch.id}`];
		let checked = 0;
		for (const path of pages) {
			for (const signedIn of [true, false]) {
				const res = await fetch(`${app.url}${path}`, { headers: signedIn ? { cookie } : {}, redirect: 'manual' });
				const what = `${path} (${signedIn ? 'signed in' : 'anonymous'}, ${res.status})`;
				const csp = expectCommon(res, what);
				if (res.status === 200) {
					const html = await res.text();
					const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
					expect(scriptSrc, what).not.toContain('unsafe-inline');
					const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
					expect(nonce, what).toBeTruthy();
					// Every inline script of the page carries that nonce.
					for (const tag of html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []) expect(tag, what).toContain(`nonce="${nonce}"`);
				}
				checked++;
			}
		}
		console.log(`security headers: ${checked} page responses (${pages.length} pages, signed in and out), ${checked} with nosniff, DENY, the referrer policy and frame-ancestors 'none'`);
	});

	it('include nosniff on the static files adapter-node serves before the hooks', async () => {
		const html = await (await fetch(`${app.url}/login`)).text();
		// Written relative to the page (./_app/…) or from the root (/_app/…).
		const assets = [...new Set([...html.matchAll(/(?:src|href|import\()["'](?:\.\/|\/)(_app\/[^"']+)["']/g)].map((m) => `/${m[1]}`))];
		expect(assets.length).toBeGreaterThan(0);
		for (const a of assets) {
			const res = await fetch(`${app.url}${a}`);
			expect(res.status, a).toBe(200);
			expect(res.headers.get('x-content-type-options'), a).toBe('nosniff');
		}
		console.log(`static files: ${assets.length} of the sign-in page's /_app files, ${assets.length} with nosniff`);
	});

	it('are on every API route, with a policy that allows nothing', async () => {
		const routes: [string, RequestInit][] = [
			['/api/trpc/health', {}],
			['/api/trpc/auth.me', {}],
			['/api/trpc/no.such.procedure', {}],
			['/api/imports', { method: 'POST', body: 'phone\n+8613800000000', headers: { 'content-type': 'text/csv' } }],
			['/api/imports/00000000-0000-0000-0000-000000000000/failed.csv', {}],
			['/api/receipts/sandbox', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }],
			// A cross-site form post, refused in the hook before any route runs.
			['/api/trpc/auth.logout', { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' } }]
		];
		for (const [path, init] of routes) {
			const res = await fetch(`${app.url}${path}`, { ...init, redirect: 'manual' });
			const csp = expectCommon(res, `${path} (${res.status})`);
			expect(csp, path).toContain("default-src 'none'");
		}
	});

	it('include HSTS when the origin is https', async () => {
		// Behind a TLS proxy, ORIGIN says https: the app then asks browsers to stay on https.
		const tls = await startApp({ DATABASE_URL: process.env.DATABASE_URL!, ORIGIN: 'https://batchdesk.example' });
		try {
			for (const path of ['/login', '/api/trpc/health']) {
				const res = await fetch(`${tls.url}${path}`, { redirect: 'manual' });
				expect(res.headers.get('strict-transport-security'), path).toMatch(/max-age=\d{7,}/);
			}
		} finally {
			await tls.stop();
		}
	});

	it('break nothing in a browser: no policy violation on any page, the charts draw and the live socket connects', async () => {
		const browser = await launchBrowser();
		try {
			const page = await browser.context.newPage();
			page.setDefaultTimeout(15_000);
			const violations: string[] = [];
			page.on('console', (m) => {
				if (/Content Security Policy|Refused to (execute|load|connect|apply)/i.test(m.text())) violations.push(`${page.url()}: ${m.text()}`);
			});
			const sockets: string[] = [];
			page.on('websocket', (ws) => sockets.push(ws.url()));
			await page.goto(`${app.url}/login`);
			// The page's script ran (a script blocked by the policy never marks the body). Filled
			// before that, the form went out natively (CI, loaded machine) and the test failed.
			await page.waitForSelector('body[data-hydrated]', { state: 'attached' });
			await page.fill('input[name=email]', OPERATOR.email);
			await page.fill('input[name=password]', OPERATOR.password);
			await page.click('button[type=submit]');
			// Signed in: the sign-in page's own script ran (a blocked script would leave a native form post).
			await page.waitForURL((u) => !u.pathname.startsWith('/login'));
			for (const path of PAGES.filter((p) => p !== '/login' && p !== '/no-such-page')) {
				await page.goto(`${app.url}${path}`);
				await page.waitForLoadState('networkidle');
			}
			await page.goto(`${app.url}/batches/stats`);
			await expect.poll(() => page.locator('canvas').count(), { timeout: 15_000 }).toBeGreaterThan(0);
			// A batch page subscribes to live updates over the WebSocket (connect-src 'self').
			const [contact] = await sql()<{ id: number }[]>`insert into contacts (phone_e164, name) values ('+8613800000102', 'Bo') returning id::int as id`;
			const { batch } = await createSendBatch({ contactIds: [contact.id], content: 'hi', scheduleAt: new Date(Date.now() + 3_600_000) }, adminId);
			await page.goto(`${app.url}/batches/${batch.id}`);
			await expect.poll(() => sockets.filter((u) => u.includes('/api/trpc-ws')).length, { timeout: 15_000 }).toBeGreaterThan(0);
			expect(violations).toEqual([]);
			// And the policy does its job: an injected inline script does not run.
			await page.evaluate(() => {
				const s = document.createElement('script');
				s.textContent = 'window.__injected = true';
				document.body.append(s);
			});
			expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected ?? false)).toBe(false);
			await expect.poll(() => violations.length).toBeGreaterThan(0);
		} finally {
			await browser.close();
		}
	}, 600_000); // installing Chromium on a fresh machine takes a while
});
