/**
 * End to end, as a user sees it: the built app (`node server.js`) on this file's
 * database, driven by headless Chromium. Sign in, the shell with navigation, create an
 * API token that is shown once and works over HTTP, manage users as an admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import superjson from 'superjson';
import { createUser } from '../src/lib/server/auth/users';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const ADMIN = { email: 'admin@e2e.test', password: 'e2e admin password' };

let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
	await createUser({ ...ADMIN, role: 'admin' });
	// Building the app (when stale) and installing Chromium (when missing) take a while.
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
	browser = await launchBrowser();
	context = browser.context;
	page = await context.newPage();
	page.setDefaultTimeout(15_000);
}, 600_000);

afterAll(async () => {
	await browser?.close();
	await app?.stop();
});

// Under a loaded CI machine a page can take a few seconds to react.
const poll = <T>(fn: () => T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

const me = (token: string) =>
	fetch(`${app.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });

describe('sign in and API tokens in the browser', () => {
	it('never sends the password in the address, even before the page\'s script runs', async () => {
		// Without the script (not loaded yet, or blocked) the form must not go out natively:
		// as a GET it put ?email=…&password=… in the address, the history and the server's logs.
		const noScript = await launchBrowser({ javaScriptEnabled: false });
		try {
			const p = await noScript.context.newPage();
			const requested: string[] = [];
			p.on('request', (r) => requested.push(r.url()));
			await p.goto(`${app.url}/login`);
			await p.fill('input[name=email]', ADMIN.email);
			await p.fill('input[name=password]', ADMIN.password);
			await p.press('input[name=password]', 'Enter');
			await p.locator('button[type=submit]').click({ force: true, timeout: 2_000 }).catch(() => {});
			await p.waitForTimeout(1_000);
			expect(requested.length).toBeGreaterThan(0);
			expect(requested.filter((u) => u.includes('password='))).toEqual([]);
			expect(await p.locator('form').getAttribute('method')).toBe('post');
		} finally {
			await noScript.close();
		}
	});

	it('sends an anonymous visitor to the login page', async () => {
		await page.goto(`${app.url}/settings`);
		await page.waitForURL(/\/login\?next=%2Fsettings$/);
		await poll(() => page.locator('h1').textContent()).toContain('Sign in');
	});

	it('shows a clear error for a wrong password', async () => {
		await page.fill('input[name=email]', ADMIN.email);
		await page.fill('input[name=password]', 'wrong password');
		await page.click('button[type=submit]');
		await poll(() => page.locator('[role=alert]').textContent()).toMatch(/wrong email or password/i);
		expect(page.url()).toContain('/login');
	});

	it('signs in and lands on the requested page inside the signed-in shell', async () => {
		await page.fill('input[name=password]', ADMIN.password);
		await page.click('button[type=submit]');
		await page.waitForURL(`${app.url}/settings`);
		const nav = page.locator('header nav a');
		await poll(() => nav.allTextContents()).toEqual(expect.arrayContaining(['Contacts', 'Batches', 'Templates', 'Settings']));
		await poll(() => page.locator('header .me').textContent()).toContain(`${ADMIN.email} · admin`);
		// The session cookie is not readable from scripts.
		const cookies = await context.cookies(app.url);
		const session = cookies.find((c) => c.name === 'bd_session')!;
		expect(session.httpOnly).toBe(true);
		expect(session.sameSite).toBe('Lax');
		expect(await page.evaluate(() => document.cookie)).not.toContain('bd_session');
		// Signed in, the login page sends you on.
		await page.goto(`${app.url}/login`);
		await page.waitForURL(/\/contacts$/);
		await page.goto(`${app.url}/settings`);
	});

	it('opens the live-update socket of the production server with the session cookie', async () => {
		// Raw tRPC ws protocol from the page: the first reply says whether the subscription started.
		const reply = await page.evaluate(
			() =>
				new Promise<string>((resolve) => {
					const ws = new WebSocket(`ws://${location.host}/api/trpc-ws`);
					ws.onopen = () =>
						ws.send(
							JSON.stringify({ id: 1, method: 'subscription', params: { path: 'batch.onUpdate', input: { json: {} } } })
						);
					ws.onmessage = (m) => {
						ws.close();
						resolve(String(m.data));
					};
					ws.onerror = () => resolve('socket error');
				})
		);
		expect(JSON.parse(reply)).toMatchObject({ id: 1, result: { type: 'started' } });
	});

	it('creates an API token that is shown once and works as a Bearer token', async () => {
		await page.click('header nav a:has-text("Settings")');
		await page.fill('input[placeholder^="Token name"]', 'e2e-script');
		await page.click('button:has-text("Create token")');
		const shown = page.locator('[data-testid=new-token]');
		await poll(() => shown.textContent()).toMatch(/^bd_tok_/);
		const token = (await shown.textContent())!.trim();
		await poll(() => page.locator('table tbody').textContent()).toContain('e2e-script');

		const ok = await me(token);
		expect(ok.status).toBe(200);
		expect(superjson.deserialize<{ email: string; via: string }>((await ok.json()).result.data)).toMatchObject({
			email: ADMIN.email,
			via: 'token'
		});
		const refused = await me('bd_tok_malformed');
		expect(refused.status).toBe(401);
		// The production server names the problem without leaking a stack trace.
		const refusal = await refused.json();
		expect(refusal.error.json.data.code).toBe('UNAUTHORIZED');
		expect(refusal.error.json.data.stack).toBeUndefined();

		// Shown once: after a reload only the prefix is left.
		await page.reload();
		await poll(() => page.locator('table tbody').textContent()).toContain('e2e-script');
		expect(await page.locator('[data-testid=new-token]').count()).toBe(0);
		expect(await page.content()).not.toContain(token);

		// Revoked from the page: the script is refused at once.
		page.once('dialog', (d) => d.accept());
		await page.click('table tbody button:has-text("Revoke")');
		await poll(() => page.locator('table tbody .badge').textContent()).toBe('revoked');
		expect((await me(token)).status).toBe(401);
	});

	it('lets an admin add a user and change their role', async () => {
		await page.click('.tabs a:has-text("Users")');
		await page.waitForURL(`${app.url}/settings/users`);
		await page.fill('input[name=email]', 'viewer@e2e.test');
		await page.fill('input[name=password]', 'viewer password');
		await page.selectOption('select[name=role]', 'viewer');
		await page.click('button:has-text("Create user")');
		const row = page.locator('tr[data-email="viewer@e2e.test"]');
		await poll(() => row.count()).toBe(1);
		await row.locator('select').selectOption('operator');
		await poll(() => page.locator('[role=status]').textContent()).toContain('viewer@e2e.test is now operator');
		await page.reload();
		await poll(() => page.locator('tr[data-email="viewer@e2e.test"] select').inputValue()).toBe('operator');
	});

	it('signs out: the shell is gone and pages need signing in again', async () => {
		await page.click('button:has-text("Sign out")');
		await page.waitForURL(/\/login$/);
		await page.goto(`${app.url}/settings`);
		await page.waitForURL(/\/login\?next=/);
	});
});
