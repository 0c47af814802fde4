/**
 * The rest of the console: language by Accept-Language, page titles, icons, Escape,
 * import options (duplicates), contacts paging, a send to a selection, templates and
 * channels edited, users disabled, a running batch cancelled from history, undo of an
 * import, and a user's own password.
 */
import { assert, button, field, LANGS, panelBatchId, sees, statusIs, t, tPrefix, until, upload, type Flow } from '../harness';
import { contactsCsv } from './import';

export const earlyFlows: Flow[] = [
	{
		name: 'language by Accept-Language: GET /login is in Chinese for zh-CN and in English for en',
		async run(ctx) {
			for (const [lang, want] of [['zh-CN', '登录'], ['en', 'Sign in']] as const) {
				const html = await (await fetch(`${ctx.url}/login`, { headers: { 'accept-language': lang } })).text();
				assert(html.includes(want), `/login for ${lang} has ${want}`);
				assert(html.includes(`lang="${lang}"`), `/login for ${lang} has lang="${lang}"`);
			}
		}
	},
	{
		name: 'icons: favicon, touch icon and manifest served',
		async run(ctx) {
			for (const p of ['/favicon.ico', '/favicon.svg', '/apple-touch-icon.png', '/manifest.webmanifest']) {
				const res = await fetch(`${ctx.url}${p}`);
				assert(res.status === 200, `${p} answered ${res.status}`);
			}
		}
	}
];

export const middleFlows: Flow[] = [
	{
		name: 'import (zh-CN): the same file again skips phones already in contacts, and offers them as a download',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/import');
			await upload(page, 'contacts-again.csv', contactsCsv());
			await until('手机 to be mapped', async () => (await page.locator('th select').first().inputValue()) === 'phone');
			assert(await page.getByLabel(t('zh-CN', 'imp_skip')).isChecked(), 'skip duplicates is the default');
			await button(page, 'zh-CN', 'imp_start').click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await page.getByRole('link', { name: tPrefix('zh-CN', 'imp_download_already') }).or(page.getByRole('link', { name: t('zh-CN', 'imp_download_already', { count: 120 }) })).first().waitFor();
			const cards = (await page.locator('.cards').textContent()) ?? '';
			assert(cards.includes('120') && cards.includes(t('zh-CN', 'word_already_in')), `120 already in contacts: ${cards}`);
		}
	},
	{
		name: 'contacts (en): pages of 50 with Next and Previous, the page kept in the URL',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/contacts?tags=e2e');
			await sees(page, t('en', 'range_of', { from: 1, to: 50, total: 123 }));
			await button(page, 'en', 'next').click();
			await sees(page, t('en', 'range_of', { from: 51, to: 100, total: 123 }));
			await page.waitForURL(/page=2/);
			await page.reload();
			await sees(page, t('en', 'range_of', { from: 51, to: 100, total: 123 }));
			await button(page, 'en', 'previous').click();
			await sees(page, t('en', 'range_of', { from: 1, to: 50, total: 123 }));
		}
	},
	{
		name: 'send (zh-CN): two contacts ticked on the contacts page, sent to from the selection',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/contacts?tags=e2e');
			await sees(page, t('zh-CN', 'contacts_count', { count: 123 }));
			const boxes = page.locator('tbody input[type=checkbox]');
			await boxes.nth(2).check();
			await boxes.nth(3).check();
			await page.getByRole('link', { name: t('zh-CN', 'contacts_send') }).click();
			await page.waitForURL(/\/batches\/send\?/);
			await page.locator('p.selected').waitFor();
			await page.locator('textarea').last().fill('选中的两位 {{name}}');
			await button(page, 'zh-CN', 'send_review_button').click();
			const dialog = page.getByRole('dialog');
			await button(dialog, 'zh-CN', 'send_send_to', { count: 2 }).click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'zh-CN', 'COMPLETED');
		}
	},
	{
		name: 'dialogs close with Escape: contact editor, send review, delete confirmation',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/contacts?tags=vip');
			await page.locator('tbody tr').first().getByRole('button', { name: t('en', 'edit') }).click();
			await page.getByRole('dialog').waitFor();
			await page.keyboard.press('Escape');
			await page.getByRole('dialog').waitFor({ state: 'detached' });
			await ctx.open(page, '/batches/send?tags=vip');
			await page.locator('textarea').last().fill('escape test');
			await button(page, 'en', 'send_review_button').click();
			await page.getByRole('dialog').waitFor();
			await page.keyboard.press('Escape');
			await page.getByRole('dialog').waitFor({ state: 'detached' });
			await ctx.open(page, '/batches/delete?tags=vip');
			await button(page, 'en', 'delete_review').click();
			await page.getByRole('dialog').waitFor();
			await page.keyboard.press('Escape');
			await page.getByRole('dialog').waitFor({ state: 'detached' });
		}
	},
	{
		name: 'templates (zh-CN): a template edited, then deleted',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/templates');
			await field(page, t('zh-CN', 'tpl_name')).fill('临时模板');
			await page.locator('textarea').fill('你好 {{name}}');
			await button(page, 'zh-CN', 'create').click();
			const row = page.locator('tbody tr', { hasText: '临时模板' });
			await row.waitFor();
			await row.getByRole('button', { name: t('zh-CN', 'edit') }).click();
			await page.locator('textarea').fill('你好 {{name|朋友}}，欢迎');
			await button(page, 'zh-CN', 'save').click();
			await until('the body saved', async () => ((await row.textContent()) ?? '').includes('欢迎'));
			await row.getByRole('button', { name: t('zh-CN', 'delete') }).click();
			await row.waitFor({ state: 'detached' });
		}
	},
	{
		name: 'channels (zh-CN): a disabled channel is not offered on the send page; enabled again',
		async run(ctx) {
			const admin = await ctx.as('admin', 'zh-CN');
			await ctx.open(admin, '/settings/channels');
			const setEnabled = async (on: boolean) => {
				await admin.locator('tr', { has: admin.locator('td code', { hasText: /^hook$/ }) }).getByRole('button', { name: t('zh-CN', 'edit') }).click();
				const box = admin.getByLabel(t('zh-CN', 'ch_col_enabled'), { exact: true });
				if (on) await box.check();
				else await box.uncheck();
				await button(admin, 'zh-CN', 'save').click();
				await until('the row to say so', async () =>
					((await admin.locator('tr', { has: admin.locator('td code', { hasText: /^hook$/ }) }).textContent()) ?? '').includes(t('zh-CN', on ? 'yes' : 'no'))
				);
			};
			await setEnabled(false);
			const op = await ctx.as('operator', 'zh-CN');
			await ctx.open(op, '/batches/send');
			const options = await field(op, t('zh-CN', 'send_channel')).locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
			assert(!options.includes('hook') && options.includes('sandbox'), `channels offered: ${options.join(', ')}`);
			await setEnabled(true);
		}
	},
	{
		name: 'users (en): an admin disables a user (who can no longer sign in) and enables them again',
		async run(ctx) {
			const page = await ctx.as('admin', 'en');
			await ctx.open(page, '/settings/users');
			await page.fill('input[name=email]', 'temp@e2e.test');
			await page.fill('input[name=password]', 'temporary password');
			await button(page, 'en', 'users_create').click();
			const row = page.locator('tr[data-email="temp@e2e.test"]');
			await row.waitFor();
			await button(row, 'en', 'users_disable').click();
			await row.locator('.badge', { hasText: t('en', 'users_disabled') }).waitFor();
			const login = await fetch(`${ctx.url}/api/trpc/auth.login`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', origin: ctx.url },
				body: JSON.stringify({ json: { email: 'temp@e2e.test', password: 'temporary password' } })
			});
			assert(login.status !== 200, 'a disabled user cannot sign in');
			await button(row, 'en', 'users_enable').click();
			await button(row, 'en', 'users_disable').waitFor();
		}
	},
	{
		name: 'history (en): a running paced send cancelled from its row in the list',
		async run(ctx) {
			const b = await ctx.mutate<{ id: string }>('operator', 'batch.send', { filter: { tags: ['vip'] }, content: 'slow {{name}}', channelId: 'hook', ratePerMinute: 6 });
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches');
			const row = page.locator('tbody tr', { hasText: b.id.slice(0, 8) });
			await row.getByRole('button', { name: t('en', 'cancel') }).click();
			await row.locator('.badge', { hasText: t('en', 'status_cancelled') }).waitFor();
		}
	}
];

export const lateFlows: Flow[] = [
	{
		name: 'undo an import (zh-CN): a fresh import undone from its batch page, its contacts gone',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/import');
			await upload(page, 'undo.csv', '手机,姓名\n+8613600000001,撤销一\n+8613600000002,撤销二\n');
			await until('手机 to be mapped', async () => (await page.locator('th select').first().inputValue()) === 'phone');
			await button(page, 'zh-CN', 'imp_start').click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			const id = await panelBatchId(page);
			await ctx.open(page, '/contacts?search=%E6%92%A4%E9%94%80');
			await sees(page, t('zh-CN', 'contacts_count', { count: 2 }));
			await ctx.open(page, `/batches/${id}`);
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await button(page, 'zh-CN', 'detail_undo').click();
			const undo = page.locator('a[href^="/batches/"] code').last();
			await undo.waitFor();
			await undo.click();
			await page.waitForURL((u) => !u.pathname.endsWith(id));
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await ctx.audit(page, 'zh-CN', 'detail-undo');
			await ctx.open(page, '/contacts?search=%E6%92%A4%E9%94%80');
			await sees(page, t('zh-CN', 'contacts_none'));
		}
	},
	{
		name: 'your account (zh-CN): a viewer changes their own password (the current one required)',
		async run(ctx) {
			const page = await ctx.as('viewer', 'zh-CN');
			await ctx.open(page, '/settings/account');
			ctx.allowed = [/40[0-9]/];
			await page.fill('input[name=oldPassword]', 'not my password');
			await page.fill('input[name=newPassword]', 'viewer new password');
			await page.fill('input[name=repeat]', 'viewer new password');
			await button(page, 'zh-CN', 'account_change').click();
			await page.locator('[role=alert]').waitFor();
			await page.fill('input[name=oldPassword]', ctx.users.viewer.password);
			await page.fill('input[name=newPassword]', 'viewer new password');
			await page.fill('input[name=repeat]', 'viewer new password');
			await button(page, 'zh-CN', 'account_change').click();
			await sees(page, t('zh-CN', 'account_password_changed'));
			ctx.users.viewer.password = 'viewer new password';
		}
	},
	{
		name: 'page titles (both languages): each page names itself',
		async run(ctx) {
			for (const lang of LANGS) {
				const page = await ctx.as('admin', lang);
				const seen = new Map<string, string>();
				for (const p of ['/contacts', '/batches', '/batches/send', '/batches/import', '/batches/stats', '/templates', '/outbox', '/settings', '/settings/users', '/settings/channels', '/settings/audit']) {
					await ctx.open(page, p);
					const title = await page.title();
					assert(title !== 'Batchdesk' && title.endsWith('· Batchdesk'), `${p} title is ${title}`);
					assert(!seen.has(title), `${p} has the same title as ${seen.get(title)}: ${title}`);
					seen.set(title, p);
				}
			}
		}
	}
];
