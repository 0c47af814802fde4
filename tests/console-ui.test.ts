/**
 * The operator's console in a real browser (built app + headless Chromium + a worker):
 * the send tab's review step before the confirm (missing variables need a tick), the
 * 8-character batch id in the address bar, the live rate, and a viewer who is not
 * offered what a viewer cannot do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sql } from '../src/lib/server/db/client';
import { createUser } from '../src/lib/server/auth/users';
import { startWorker, type WorkerHandle } from '../worker/index';
import { launchBrowser } from './e2e/browser';
import { startApp, type RunningApp } from './e2e/app';

const OP = { email: 'operator@console.test', password: 'console operator password' };
const VIEWER = { email: 'viewer@console.test', password: 'console viewer password' };
let app: RunningApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let worker: WorkerHandle;

async function signIn(who: { email: string; password: string }): Promise<Page> {
	await browser.context.clearCookies();
	const page = await browser.context.newPage();
	page.setDefaultTimeout(20_000);
	await page.goto(`${app.url}/login`);
	await page.fill('input[name=email]', who.email);
	await page.fill('input[name=password]', who.password);
	await page.click('button[type=submit]');
	await page.waitForURL((u) => !u.pathname.startsWith('/login'));
	return page;
}

beforeAll(async () => {
	await createUser({ ...OP, role: 'operator' });
	await createUser({ ...VIEWER, role: 'viewer' });
	// 12 contacts tagged ui-send: #3 opted out, #5 and #6 without a city.
	await sql()`insert into contacts (phone_e164, name, tags, attributes, opted_out_at)
		select '+1666' || lpad(g::text, 7, '0'), 'UI ' || g, '{ui-send}',
			case when g in (5, 6) then '{}'::jsonb else jsonb_build_object('city', 'Town ' || g) end,
			case when g = 3 then now() end
		from generate_series(1, 12) g`;
	worker = await startWorker({ concurrency: 2 });
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
	browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
	await browser?.close();
	await app?.stop();
	await worker?.stop();
});

describe('operator', () => {
	it('reviews a send before confirming it, ticks past missing variables, and follows it by its short id', async () => {
		const page = await signIn(OP);
		await page.goto(`${app.url}/batches/send`);
		await expect.poll(() => page.title()).toBe('Send · Batchdesk');
		await page.getByLabel('Having all of these tags').fill('ui-send');
		await page.locator('textarea').fill('Hello {{name}} in {{city}}');
		// No way to send before the review.
		expect(await page.getByRole('button', { name: /^Send to/ }).count()).toBe(0);
		await page.getByRole('button', { name: 'Review…' }).click();
		const review = page.getByRole('dialog', { name: 'Review the send' });
		await expect.poll(() => review.textContent()).toMatch(/11 recipients · 1 opted out \(skipped\)/);
		expect(await review.textContent()).toMatch(/city for 2 recipients/);
		expect(await review.textContent()).toMatch(/\+16660000001 Hello UI 1 in Town 1/);
		expect(await review.textContent()).toMatch(/1 SMS part \(GSM-7\)/);
		const confirm = review.getByRole('button', { name: 'Send to 11' });
		expect(await confirm.isDisabled()).toBe(true);
		await review.getByLabel('Send anyway, with those parts empty').check();
		expect(await confirm.isDisabled()).toBe(false);

		// A change to the message makes the review stale: it has to be done again.
		await page.locator('textarea').fill('Hello {{name}} in {{city|your town}}');
		expect(await review.count()).toBe(0);
		await page.getByRole('button', { name: 'Review…' }).click();
		await expect.poll(() => review.textContent()).toMatch(/11 recipients/);
		expect(await review.textContent()).not.toMatch(/Missing variables/);
		await review.getByRole('button', { name: 'Send to 11' }).click();

		await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
		const id = page.url().split('/').pop()!;
		await expect.poll(() => page.locator('.badge').first().textContent(), { timeout: 30_000 }).toMatch(/COMPLETED/);
		await expect.poll(() => page.locator('.counts').first().textContent()).toMatch(/11\s*sent/);

		// The 8 characters shown everywhere work in the address bar.
		await page.goto(`${app.url}/batches/${id.slice(0, 8)}`);
		await page.waitForURL(`${app.url}/batches/${id}`);
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${id} and status = 'sent'`;
		expect(n).toBe(11);
		await page.close();
	});

	it('serves the icons and keeps history filters in the address', async () => {
		const res = await fetch(`${app.url}/favicon.ico`);
		expect(res.status).toBe(200);
		const page = await signIn(OP);
		await page.goto(`${app.url}/batches?type=SEND`);
		expect(await page.getByLabel('Type').inputValue()).toBe('SEND');
		await page.getByLabel('Status').selectOption('COMPLETED');
		await page.waitForURL(/status=COMPLETED/);
		await page.reload();
		expect(await page.getByLabel('Status').inputValue()).toBe('COMPLETED');
		await page.close();
	});
});

describe('import', () => {
	it('previews a GBK file (Chinese Excel) as Chinese, converts it on upload and counts in the same words', async () => {
		const page = await signIn(OP);
		await page.goto(`${app.url}/batches/import`);
		// "手机,姓名\r\n+8613800138001,张伟\r\n+8613900139001,李娜\r\n" in GBK.
		const gbk = (s: string) => Buffer.from(s, 'latin1');
		const file = Buffer.concat([
			Buffer.from([0xca, 0xd6, 0xbb, 0xfa]), gbk(','), Buffer.from([0xd0, 0xd5, 0xc3, 0xfb]), gbk('\r\n+8613800138001,'),
			Buffer.from([0xd5, 0xc5, 0xce, 0xb0]), gbk('\r\n+8613900139001,'), Buffer.from([0xc0, 0xee, 0xc4, 0xc8]), gbk('\r\n')
		]);
		await page.getByLabel('Choose a CSV file').setInputFiles({ name: 'contacts-gbk.csv', mimeType: 'text/csv', buffer: file });
		await expect.poll(() => page.locator('table').first().textContent()).toMatch(/手机.*姓名.*张伟.*李娜/s);
		expect(await page.locator('.warn').first().textContent()).toMatch(/GBK/);
		expect(await page.getByLabel('Map 手机').inputValue()).toBe('phone');
		await page.getByRole('button', { name: 'Start import' }).click();
		await expect.poll(() => page.locator('.cards').textContent(), { timeout: 30_000 }).toMatch(/2\s*created.*0\s*already in contacts.*0\s*invalid/s);
		const [c] = await sql()<{ name: string }[]>`select name from contacts where phone_e164 = '+8613900139001'`;
		expect(c.name).toBe('李娜');
		// Nothing went wrong: nothing to download.
		expect(await page.getByRole('link', { name: /Download/ }).count()).toBe(0);
		await page.close();
	});
});

describe('outbox', () => {
	it('filters by the 8 characters of a batch id', async () => {
		const page = await signIn(OP);
		const [b] = await sql()<{ id: string }[]>`select id from batch_operations where type = 'SEND' order by created_at desc limit 1`;
		await page.goto(`${app.url}/outbox?batch=${b.id.slice(0, 8)}`);
		await expect.poll(() => page.locator('main').textContent()).toMatch(/11 messages/);
		await page.close();
	});
});

describe('viewer', () => {
	it('is not offered Send, Import, Tags, Delete, Retry or template editing', async () => {
		const page = await signIn(VIEWER);
		await page.goto(`${app.url}/batches`);
		const tabs = await page.locator('nav.tabs a').allTextContents();
		expect(tabs).toEqual(['History', 'Stats']);
		await page.goto(`${app.url}/batches/send`);
		await expect.poll(() => page.locator('main').textContent()).toMatch(/cannot|not send/);
		expect(await page.getByRole('button', { name: 'Review…' }).count()).toBe(0);
		await page.goto(`${app.url}/batches/delete`);
		expect(await page.getByRole('button', { name: /Review/ }).count()).toBe(0);
		await page.goto(`${app.url}/templates`);
		await expect.poll(() => page.locator('h1').textContent()).toBe('Templates');
		expect(await page.getByRole('button', { name: 'Create' }).count()).toBe(0);
		const [b] = await sql()<{ id: string }[]>`select id from batch_operations where type = 'SEND' order by created_at desc limit 1`;
		await page.goto(`${app.url}/batches/${b.id}`);
		await expect.poll(() => page.locator('.badge').first().textContent()).toMatch(/COMPLETED/);
		expect(await page.getByRole('button', { name: /Retry|Cancel|Pause/ }).count()).toBe(0);
		await page.goto(`${app.url}/contacts`);
		await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(1);
		expect(await page.getByRole('checkbox').count()).toBe(0);
		await page.close();
	});
});
