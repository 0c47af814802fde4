/**
 * The audit log as an admin sees it: the built app in headless Chromium. Settings →
 * Audit log lists the admin's own sign-in, a filter goes into the URL (and survives a
 * reload), the CSV export link carries the same filter; a viewer has no such tab and
 * the page tells them it is for admins.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../src/lib/server/auth/users';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const ADMIN = { email: 'admin@audit.test', password: 'audit admin password' };
const VIEWER = { email: 'viewer@audit.test', password: 'audit viewer password' };

let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
	await createUser({ ...ADMIN, role: 'admin' });
	await createUser({ ...VIEWER, role: 'viewer' });
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
	browser = await launchBrowser();
	page = await browser.context.newPage();
	page.setDefaultTimeout(45_000);
	page.on('console', (msg) => msg.type() === 'error' && errors.push(`${page.url()}: ${msg.text()}`));
	page.on('pageerror', (e) => errors.push(`${page.url()}: ${e}`));
}, 600_000);

afterAll(async () => {
	await browser?.close();
	await app?.stop();
});

const poll = <T>(fn: () => T) => expect.poll(fn, { timeout: 45_000, interval: 100 });

async function signIn(who: { email: string; password: string }) {
	await page.goto(`${app.url}/login?next=%2Fsettings`);
	await page.fill('input[name=email]', who.email);
	await page.fill('input[name=password]', who.password);
	await page.click('button[type=submit]');
	await page.waitForURL(`${app.url}/settings`);
}

describe('the audit log page', () => {
	it('an admin reads their sign-in, filters by action into the URL, and exports the same filter', async () => {
		await signIn(ADMIN);
		await page.click('.tabs a:has-text("Audit log")');
		await page.waitForURL(`${app.url}/settings/audit`);
		const signInRow = page.locator('tr[data-action="auth.login"]').first();
		await poll(() => signInRow.textContent()).toContain(ADMIN.email);
		await page.screenshot({ path: path.resolve(import.meta.dirname, '../test-results/audit/settings-audit.png'), fullPage: true });

		await page.locator('label:has-text("Action") select').selectOption('auth.login');
		await page.waitForURL(/[?&]action=auth\.login/);
		await page.reload();
		await poll(() => page.locator('label:has-text("Action") select').inputValue()).toBe('auth.login');
		await poll(() => signInRow.textContent()).toContain(ADMIN.email);

		const href = await page.locator('a:has-text("Export CSV")').getAttribute('href');
		expect(href).toBe('/api/audit.csv?action=auth.login');
		const cookies = await browser.context.cookies(app.url);
		const res = await fetch(`${app.url}${href}`, { headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
		expect(res.status).toBe(200);
		const lines = (await res.text()).trim().split('\r\n');
		expect(lines[0]).toContain('at,actor_id,actor_email');
		expect(lines.slice(1).every((l) => l.includes(',auth.login,'))).toBe(true);
		expect(lines.some((l) => l.includes(ADMIN.email))).toBe(true);
		expect(errors).toEqual([]);
	});

	it('a viewer sees no Audit log tab, and the page says it is for admins', async () => {
		await page.context().clearCookies();
		await signIn(VIEWER);
		await poll(() => page.locator('.tabs').textContent()).toContain('Your account');
		expect(await page.locator('.tabs a:has-text("Audit log")').count()).toBe(0);
		await page.goto(`${app.url}/settings/audit`);
		await poll(() => page.locator('main').textContent()).toContain('Only an admin can read the audit log.');
		expect(await page.locator('table').count()).toBe(0);
	});
});
