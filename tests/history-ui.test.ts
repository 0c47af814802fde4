/**
 * The batch console in a real browser (built app + headless Chromium) with a real
 * worker: bulk tags with the exact-count confirmation and live progress, the history
 * tab, the stats tab with its charts, and the "polling" notice when the socket is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sql } from '../src/lib/server/db/client';
import { createUser } from '../src/lib/server/auth/users';
import { startWorker, type WorkerHandle } from '../worker/index';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const OP = { email: 'operator@ui.test', password: 'ui operator password' };
let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let worker: WorkerHandle;

beforeAll(async () => {
	await createUser({ ...OP, role: 'operator' });
	await sql()`insert into contacts (phone_e164, name, tags)
		select '+1666' || lpad(g::text, 7, '0'), 'UI ' || g, case when g <= 37 then '{ui-vip}'::text[] else '{}'::text[] end
		from generate_series(1, 60) g`;
	worker = await startWorker({ concurrency: 2 });
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
	await worker?.stop();
});

describe('batch console', () => {
	it('tags a filter after confirming the exact count, and shows the run live to the end', async () => {
		await page.goto(`${app.url}/batches/tags`);
		await page.getByLabel('Having all of these tags').fill('ui-vip');
		await page.getByLabel(/^Tags \(comma-separated/).fill('ui-done, ui-done ');
		await page.getByRole('button', { name: 'Review…' }).click();
		const dialog = page.getByRole('dialog', { name: 'Confirm the tag operation' });
		await expect.poll(() => dialog.textContent()).toMatch(/Add ui-done to 37 contacts\?/);
		await dialog.getByRole('button', { name: 'Run on 37 contacts' }).click();
		await expect.poll(() => page.locator('.panel .badge').first().textContent(), { timeout: 20_000 }).toBe('COMPLETED');
		await expect.poll(() => page.locator('.panel p.muted').last().textContent()).toMatch(/37 \/ 37 processed · 37 changed/);
		await expect.poll(() => page.locator('.badge.live').count()).toBeGreaterThan(0);
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where 'ui-done' = any(tags)`;
		expect(n).toBe(37);
	});

	it('lists the batch in history with its counts and filters by type', async () => {
		await page.goto(`${app.url}/batches`);
		const row = page.locator('tbody tr', { hasText: 'TAG' }).first();
		await expect.poll(() => row.textContent()).toMatch(/COMPLETED/);
		await expect.poll(() => row.textContent()).toMatch(/37 \/ 37/);
		await page.getByLabel('Type').selectOption('SEND');
		await expect.poll(() => page.locator('tbody').textContent()).toMatch(/No batch operations match/);
	});

	it("a tag batch's page says what it changed and on whom, without an empty recipients table", async () => {
		const [b] = await sql()<{ id: string }[]>`select id from batch_operations where type = 'TAG' order by created_at desc limit 1`;
		await page.goto(`${app.url}/batches/${b.id}`);
		await expect.poll(() => page.locator('.panel').first().textContent()).toMatch(/Add tags ui-done to contacts tagged ui-vip\./);
		expect(await page.locator('table').count()).toBe(0);
	});

	it('draws the stats cards and charts', async () => {
		await page.goto(`${app.url}/batches/stats`);
		await expect.poll(() => page.locator('.card').first().textContent()).toMatch(/Batches\s*1/);
		await expect.poll(() => page.locator('.card', { hasText: 'Success rate' }).textContent()).toMatch(/100%/);
		await expect.poll(() => page.locator('canvas').count()).toBe(5);
	});

	it('says it is polling when the socket cannot connect', async () => {
		// Block the ws endpoint for this page only: the app must fall back and say so.
		const p2 = await browser.context.newPage();
		await p2.routeWebSocket(/\/api\/trpc-ws/, (ws) => ws.close());
		await p2.goto(`${app.url}/batches`);
		await expect.poll(() => p2.locator('.badge.polling').textContent(), { timeout: 20_000 }).toMatch(/polling/);
		await expect.poll(() => p2.locator('tbody tr', { hasText: 'TAG' }).count()).toBeGreaterThan(0);
		await p2.close();
	});
});
