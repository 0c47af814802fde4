/**
 * Issue 12, offboarding and passwords as users see them: the built app in headless
 * Chromium. An admin disables a user and resets a password from Settings → Users; a
 * viewer sees no Users tab and changes their own password under Your account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../src/lib/server/auth/users';
import { createApiToken } from '../src/lib/server/auth/tokens';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const ADMIN = { email: 'admin@accounts.test', password: 'accounts admin password' };
const VIEWER = { email: 'viewer@accounts.test', password: 'viewer first password' };
const LEAVER = { email: 'leaver@accounts.test', password: 'leaver password' };

let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let leaverToken: string;

beforeAll(async () => {
	await createUser({ ...ADMIN, role: 'admin' });
	await createUser({ ...VIEWER, role: 'viewer' });
	const leaver = await createUser({ ...LEAVER, role: 'operator' });
	leaverToken = (await createApiToken(leaver.id, 'leaver script')).token;
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
	browser = await launchBrowser();
	page = await browser.context.newPage();
	// Generous: under a full parallel suite a sign-in navigation has taken over 15 s here.
	page.setDefaultTimeout(45_000);
}, 600_000);

afterAll(async () => {
	await browser?.close();
	await app?.stop();
});

const poll = <T>(fn: () => T) => expect.poll(fn, { timeout: 45_000, interval: 100 });
const me = (token: string) => fetch(`${app.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });

async function signIn(who: { email: string; password: string }) {
	await page.goto(`${app.url}/login?next=%2Fsettings`);
	await page.fill('input[name=email]', who.email);
	await page.fill('input[name=password]', who.password);
	await page.click('button[type=submit]');
	await page.waitForURL(`${app.url}/settings`);
}

async function canSignIn(email: string, password: string) {
	const res = await fetch(`${app.url}/api/trpc/auth.login`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', origin: app.url },
		body: JSON.stringify({ json: { email, password } })
	});
	return res.status === 200;
}

describe('accounts in the browser', () => {
	it('an admin disables a user: their token stops at once and the row says so', async () => {
		expect((await me(leaverToken)).status).toBe(200);
		await signIn(ADMIN);
		await page.click('.tabs a:has-text("Users")');
		await page.waitForURL(`${app.url}/settings/users`);
		const row = page.locator(`tr[data-email="${LEAVER.email}"]`);
		page.once('dialog', (d) => d.accept());
		await row.locator('button:has-text("Disable")').click();
		await poll(() => row.locator('.badge').textContent()).toBe('disabled');
		expect((await me(leaverToken)).status).toBe(401);
		// Their own row has no Disable or Delete.
		const mine = page.locator(`tr[data-email="${ADMIN.email}"]`);
		expect(await mine.locator('button:has-text("Disable"), button:has-text("Delete")').count()).toBe(0);
	});

	it('an admin resets a password: the new one signs in, the old one does not', async () => {
		const row = page.locator(`tr[data-email="${VIEWER.email}"]`);
		page.once('dialog', (d) => d.accept('viewer reset password'));
		await row.locator('button:has-text("Reset password")').click();
		await poll(() => page.locator('[role=status]').textContent()).toContain(`Password of ${VIEWER.email} reset`);
		expect(await canSignIn(VIEWER.email, VIEWER.password)).toBe(false);
		expect(await canSignIn(VIEWER.email, 'viewer reset password')).toBe(true);
		await page.click('button:has-text("Sign out")');
		await page.waitForURL(/\/login$/);
	});

	it('a viewer sees no Users tab and changes their own password (the current one required)', async () => {
		await signIn({ email: VIEWER.email, password: 'viewer reset password' });
		await poll(() => page.locator('.tabs a').allTextContents()).toEqual(['API tokens', 'Your account', 'Channels']);
		await page.click('.tabs a:has-text("Your account")');
		await page.waitForURL(`${app.url}/settings/account`);
		await page.fill('input[name=oldPassword]', 'not my password');
		await page.fill('input[name=newPassword]', 'viewer own password');
		await page.fill('input[name=repeat]', 'viewer own password');
		await page.click('button:has-text("Change password")');
		await poll(() => page.locator('[role=alert]').textContent()).toContain('current password is wrong');
		await page.fill('input[name=oldPassword]', 'viewer reset password');
		await page.fill('input[name=newPassword]', 'viewer own password');
		await page.fill('input[name=repeat]', 'viewer own password');
		await page.click('button:has-text("Change password")');
		await poll(() => page.locator('[role=status]').textContent()).toContain('Password changed');
		expect(await canSignIn(VIEWER.email, 'viewer own password')).toBe(true);
		// The session that changed it stays signed in.
		await page.reload();
		await poll(() => page.locator('header .me').textContent()).toContain(VIEWER.email);
	});
});
