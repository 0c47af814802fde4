/**
 * The send form in a real browser carries one idempotency key per submission: when the
 * server created the batch but its answer was lost (a proxy reset), clicking Send again
 * returns that batch instead of creating a second one (issue 11).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sql } from '../src/lib/server/db/client';
import { createUser } from '../src/lib/server/auth/users';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const OP = { email: 'operator@forms.test', password: 'forms operator password' };
let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;

beforeAll(async () => {
	await createUser({ ...OP, role: 'operator' });
	await sql()`insert into contacts (phone_e164, name, tags)
		select '+1667' || lpad(g::text, 7, '0'), 'Form ' || g, '{form-vip}'::text[] from generate_series(1, 12) g`;
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
	browser = await launchBrowser();
	page = await browser.context.newPage();
	page.setDefaultTimeout(20_000);
	await page.goto(`${app.url}/login`);
	await page.fill('input[name=email]', OP.email);
	await page.fill('input[name=password]', OP.password);
	await page.click('button[type=submit]');
	await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}, 600_000);

afterAll(async () => {
	await browser?.close();
	await app?.stop();
});

describe('send form', () => {
	it('a retry after a lost answer returns the batch the first click created', async () => {
		let calls = 0;
		// The first answer is lost after the server has handled the request.
		await page.route('**/api/trpc/batch.send**', async (route) => {
			calls++;
			const response = await route.fetch();
			if (calls === 1) await route.abort('connectionreset');
			else await route.fulfill({ response });
		});
		await page.goto(`${app.url}/batches/send`);
		await page.getByLabel('Having all of these tags').fill('form-vip');
		// The send goes out from its review (batch.precheck), which stays open on an error.
		await page.getByRole('button', { name: 'Review…' }).click();
		const send = page.getByRole('dialog', { name: 'Review the send' }).getByRole('button', { name: /^Send to 12$/ });
		await send.click();
		await expect.poll(() => page.locator('p.error').count()).toBeGreaterThan(0);
		const [{ n: afterFirst }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = 'SEND'`;
		expect(afterFirst).toBe(1);
		await send.click();
		await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
		expect(calls).toBe(2);
		const rows = await sql()<{ id: string }[]>`select id from batch_operations where type = 'SEND'`;
		expect(rows).toHaveLength(1);
		expect(page.url()).toContain(rows[0].id);
	});
});
