/**
 * The console's language through the built app (`node server.js`): the browser's
 * Accept-Language picks it, the language switch's cookie overrides it, and the page's
 * <html lang> says which one was served. URLs carry no locale. Then in Chromium with a
 * Chinese browser: the signed-in console in Chinese, switched to English and remembered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createUser } from '../src/lib/server/auth/users';
import { createSendBatch } from '../src/lib/server/send/create';
import { sql } from '../src/lib/server/db/client';
import { startApp, type RunningApp } from './e2e/app';
import { launchBrowser } from './e2e/browser';

const OPERATOR = { email: 'operator@i18n.test', password: 'an operator password' };
const ADMIN = { email: 'admin@i18n.test', password: 'an admin password' };
let app: RunningApp;
let adminId: number;
// Under a loaded machine a page can take a few seconds to react.
const poll = <T>(fn: () => T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

beforeAll(async () => {
	await createUser({ ...OPERATOR, role: 'operator' });
	adminId = (await createUser({ ...ADMIN, role: 'admin' })).id;
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL! });
}, 600_000);

afterAll(async () => {
	await app?.stop();
});

async function loginPage(headers: Record<string, string>) {
	const res = await fetch(`${app.url}/login`, { headers });
	expect(res.status).toBe(200);
	const html = await res.text();
	return { html, lang: /<html lang="([^"]+)"/.exec(html)?.[1], h1: /<h1>([^<]*)<\/h1>/.exec(html)?.[1] };
}

describe('language of the console', () => {
	it('Accept-Language zh-CN: the login page is in Chinese', async () => {
		const page = await loginPage({ 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' });
		expect(page.lang).toBe('zh-CN');
		expect(page.h1).toContain('登录');
		expect(page.html).toContain('密码');
		expect(page.html).not.toContain('Sign in to Batchdesk');
	});

	it('Accept-Language en: the login page is in English', async () => {
		const page = await loginPage({ 'accept-language': 'en-US,en;q=0.9' });
		expect(page.lang).toBe('en');
		expect(page.h1).toBe('Sign in to Batchdesk');
		expect(page.html).not.toContain('登录');
	});

	it('every Chinese a browser may say (zh, zh-Hans-CN, zh-SG, zh-TW) gets the Chinese console', async () => {
		for (const al of ['zh', 'zh-Hans-CN,zh;q=0.9', 'zh-SG', 'zh-TW,en;q=0.5', 'en;q=0.4,zh-Hans;q=0.8']) {
			expect((await loginPage({ 'accept-language': al })).lang, al).toBe('zh-CN');
		}
		expect((await loginPage({ 'accept-language': 'en-GB,zh-CN;q=0.5' })).lang).toBe('en');
	});

	it('the first page sets the language it chose in a session cookie the browser reads when it hydrates', async () => {
		const res = await fetch(`${app.url}/login`, { headers: { 'accept-language': 'zh-Hans' } });
		expect(res.headers.get('set-cookie')).toMatch(/^batchdesk_locale=zh-CN; Path=\/;/);
		expect(res.headers.get('set-cookie')).not.toMatch(/HttpOnly|Max-Age|Expires/i);
		const again = await fetch(`${app.url}/login`, { headers: { 'accept-language': 'zh-Hans', cookie: 'batchdesk_locale=en' } });
		expect(again.headers.get('set-cookie')).toBeNull();
	});

	it('a language the console does not have, or none, gets English; q-values are honoured', async () => {
		expect((await loginPage({ 'accept-language': 'fr-FR,zh-CN;q=0.8,en;q=0.5' })).lang).toBe('zh-CN');
		expect((await loginPage({ 'accept-language': 'fr-FR,fr;q=0.9' })).lang).toBe('en');
		expect((await loginPage({})).lang).toBe('en');
	});

	it('the language switch cookie wins over Accept-Language', async () => {
		const page = await loginPage({ 'accept-language': 'zh-CN', cookie: 'batchdesk_locale=en' });
		expect(page.lang).toBe('en');
		expect(page.h1).toBe('Sign in to Batchdesk');
		const zh = await loginPage({ 'accept-language': 'en', cookie: 'batchdesk_locale=zh-CN' });
		expect(zh.h1).toContain('登录');
	});

	it('URLs keep no locale prefix: a signed-out visit to a page still goes to /login', async () => {
		const res = await fetch(`${app.url}/batches`, { headers: { 'accept-language': 'zh-CN' }, redirect: 'manual' });
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe('/login?next=%2Fbatches');
	});
});

describe('in the browser', () => {
	it('a Chinese browser gets the console in Chinese, with no console error; the switch turns it English and it stays so', async () => {
		const browser = await launchBrowser({ locale: 'zh-CN' });
		try {
			const page = await browser.context.newPage();
			page.setDefaultTimeout(15_000);
			const errors: string[] = [];
			page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
			page.on('pageerror', (e) => errors.push(String(e)));
			await page.goto(`${app.url}/login?next=%2Fbatches`);
			await poll(() => page.locator('h1').textContent()).toBe('登录 Batchdesk');
			await page.getByLabel('邮箱').fill(OPERATOR.email);
			await page.getByLabel('密码').fill(OPERATOR.password);
			await page.getByRole('button', { name: '登录' }).click();
			await page.waitForURL(`${app.url}/batches`);
			// Hydrated in the same language as the server rendered it: the nav and the tabs.
			await poll(() => page.locator('header nav').textContent()).toContain('联系人');
			await poll(() => page.locator('h1').textContent()).toBe('批量操作');
			await poll(() => page.locator('nav.tabs').textContent()).toContain('历史');
			expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');

			await page.getByLabel('语言').selectOption('en');
			await poll(() => page.locator('h1').textContent()).toBe('Batch operations');
			expect(page.url()).toBe(`${app.url}/batches`);
			await page.goto(`${app.url}/contacts`);
			await poll(() => page.locator('h1').textContent()).toBe('Contacts');
			expect(await page.locator('html').getAttribute('lang')).toBe('en');
			expect(errors).toEqual([]);
		} finally {
			await browser.close();
		}
	});
});

/** Words of the English messages that no Chinese message has: on a Chinese page, untranslated text. */
function englishOnlyWords(): Set<string> {
	const read = (f: string) => Object.values(JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../messages', f), 'utf8')) as string[]).join(' ');
	const zh = new Set(read('zh-CN.json').match(/[A-Za-z]{4,}/g) ?? []);
	return new Set((read('en.json').replace(/\{\w+\}/g, ' ').match(/[A-Za-z]{4,}/g) ?? []).filter((w) => !zh.has(w)));
}

describe('every page in Chinese', () => {
	it('as an admin with a Chinese browser: each page is Chinese, shows none of the English-only words, logs no error; screenshots in test-results/i18n/', async () => {
		const [contact] = await sql()<{ id: number }[]>`insert into contacts (phone_e164, name, tags) values ('+8613800000201', '张三', '{vip}') returning id::int as id`;
		const { batch } = await createSendBatch({ contactIds: [contact.id], content: '你好 {{name}}' }, adminId);
		const english = englishOnlyWords();
		const shots = path.resolve(import.meta.dirname, '../test-results/i18n');
		fs.mkdirSync(shots, { recursive: true });
		const browser = await launchBrowser({ locale: 'zh-CN' });
		try {
			const page = await browser.context.newPage();
			page.setDefaultTimeout(15_000);
			const errors: string[] = [];
			page.on('console', (msg) => msg.type() === 'error' && errors.push(`${page.url()}: ${msg.text()}`));
			page.on('pageerror', (e) => errors.push(`${page.url()}: ${e}`));
			await page.goto(`${app.url}/login`);
			// Filled before hydration, the form would submit natively (a GET) instead of signing in.
			await page.waitForSelector('body[data-hydrated]', { state: 'attached' });
			await page.getByLabel('邮箱').fill(ADMIN.email);
			await page.getByLabel('密码').fill(ADMIN.password);
			await page.getByRole('button', { name: '登录' }).click();
			await page.waitForURL(`${app.url}/contacts`);
			const pages = ['/contacts', '/batches', '/batches/send', '/batches/import', '/batches/tags', '/batches/delete', '/batches/stats', `/batches/${batch.id}`, '/templates', '/outbox', '/settings', '/settings/channels', '/settings/users'];
			const leftovers: Record<string, string[]> = {};
			for (const p of pages) {
				await page.goto(`${app.url}${p}`);
				await page.waitForLoadState('networkidle');
				expect(await page.locator('html').getAttribute('lang'), p).toBe('zh-CN');
				// Data is not translated: e-mail addresses, the seeded channel (id "sandbox", name
				// "Sandbox (outbox)"), the header syntax "Bearer <token>" and identifiers set in
				// <code> (table names on the stats page).
				const body = await page.evaluate(() => {
					const copy = document.body.cloneNode(true) as HTMLElement;
					copy.querySelectorAll('code').forEach((c) => c.remove());
					document.body.append(copy);
					const t = copy.innerText;
					copy.remove();
					return t;
				});
				const text = body.replace(/\S+@\S+|Sandbox \(outbox\)|\bsandbox\b|<token>/g, ' ');
				expect(text, p).toMatch(/[\u4e00-\u9fff]{2,}/);
				const words = [...new Set((text.match(/[A-Za-z]{4,}/g) ?? []).filter((w) => english.has(w)))];
				if (words.length) leftovers[p] = words;
				await page.screenshot({ path: path.join(shots, `zh-CN${p.replace(batch.id, 'detail').replaceAll('/', '_')}.png`), fullPage: true });
			}
			expect(leftovers).toEqual({});
			expect(errors).toEqual([]);
		} finally {
			await browser.close();
		}
	}, 120_000);
});
