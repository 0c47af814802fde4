/**
 * The console's language through the built app (`node server.js`): the browser's
 * Accept-Language picks it, the language switch's cookie overrides it, and the page's
 * <html lang> says which one was served. URLs carry no locale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from './e2e/app';

let app: RunningApp;

beforeAll(async () => {
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
