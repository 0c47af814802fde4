/** Signing in and out, in both languages, and the language switch. */
import { assert, button, hydrated, sees, t, type Flow } from '../harness';

export const authFlows: Flow[] = [
	{
		name: 'sign-in (zh-CN): the login page in Chinese, a wrong password refused, then the console',
		async run(ctx) {
			const page = await ctx.newPage('zh-CN');
			// The wrong password's 401 is logged by the browser as a failed resource.
			ctx.allowed = [/401/];
			await ctx.open(page, '/settings');
			await page.waitForURL(/\/login\?next=%2Fsettings$/);
			await sees(page, t('zh-CN', 'login_title'));
			await ctx.audit(page, 'zh-CN', 'login');
			await page.fill('input[name=email]', ctx.users.admin.email);
			await page.fill('input[name=password]', 'not the password');
			await page.click('button[type=submit]');
			await page.locator('[role=alert]').waitFor();
			assert(page.url().includes('/login'), 'stayed on the login page');
			await page.fill('input[name=password]', ctx.users.admin.password);
			await page.click('button[type=submit]');
			await page.waitForURL(`${ctx.url}/settings`);
			await hydrated(page);
			await sees(page, t('zh-CN', 'nav_contacts'));
			await page.context().close();
		}
	},
	{
		name: 'sign-in and sign-out (en): the shell names the user; after signing out pages need signing in again',
		async run(ctx) {
			const page = await ctx.newPage('en');
			await ctx.open(page, '/login');
			await sees(page, t('en', 'login_title'));
			await ctx.audit(page, 'en', 'login');
			await page.fill('input[name=email]', ctx.users.admin.email);
			await page.fill('input[name=password]', ctx.users.admin.password);
			await page.click('button[type=submit]');
			await page.waitForURL(/\/contacts$/);
			await hydrated(page);
			await sees(page, `${ctx.users.admin.email} · ${t('en', 'role_admin')}`);
			await button(page, 'en', 'sign_out').click();
			await page.waitForURL(/\/login$/);
			await page.goto(`${ctx.url}/batches`);
			await page.waitForURL(/\/login\?next=%2Fbatches/);
			await page.context().close();
		}
	},
	{
		name: 'language switch: English to Chinese from the header, remembered after a reload',
		async run(ctx) {
			const page = await ctx.newPage('en');
			await ctx.open(page, '/login');
			await sees(page, t('en', 'login_title'));
			await page.selectOption(`select[aria-label="${t('en', 'language')}"]`, 'zh-CN');
			await sees(page, t('zh-CN', 'login_title'));
			await page.reload();
			await hydrated(page);
			await sees(page, t('zh-CN', 'login_title'));
			const lang = await page.getAttribute('html', 'lang');
			assert(lang === 'zh-CN', `html lang is ${lang}`);
			await page.context().close();
		}
	}
];
