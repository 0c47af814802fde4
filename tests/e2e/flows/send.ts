/**
 * Sends as an operator: content and template, the review (precheck), pacing, schedule
 * and cancel, pause/resume/cancel while running, retry failed and resend unknown on the
 * fake provider's channels, and the sandbox outbox.
 */
import { assert, button, field, sees, statusIs, t, tPrefix, until, type Flow, type Lang } from '../harness';
import type { Page } from 'playwright-core';

/** The number shown under a label in the detail page's counts. */
async function count(page: Page, label: string) {
	const cell = page.locator('.counts > div').filter({ has: page.locator('span', { hasText: new RegExp(`^${label}$`) }) }).locator('strong');
	return Number(((await cell.first().textContent()) ?? '').replace(/\D/g, ''));
}

async function review(page: Page, lang: Lang) {
	await button(page, lang, 'send_review_button').click();
	const dialog = page.getByRole('dialog');
	await dialog.waitFor();
	return dialog;
}

export const sendFlows: Flow[] = [
	{
		name: 'send (zh-CN): a message to a tag, reviewed (one opted out left out), sent on the sandbox',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/send?tags=vip');
			await page.locator('textarea').last().fill('您好 {{name}}，展会见！');
			await page.locator('.preview').waitFor();
			await ctx.audit(page, 'zh-CN', 'send');
			const dialog = await review(page, 'zh-CN');
			await dialog.getByText(t('zh-CN', 'send_opted_out', { count: 1 }).trim()).waitFor();
			await dialog.locator('.sample').first().waitFor();
			await ctx.audit(page, 'zh-CN', 'send-review');
			await button(dialog, 'zh-CN', 'send_send_to', { count: 40 }).click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await until('40 sent', async () => (await count(page, t('zh-CN', 'word_sent'))) === 40);
			ctx.state.sendId = page.url().split('/').pop()!;
			await ctx.audit(page, 'zh-CN', 'detail-send');
		}
	},
	{
		name: 'outbox (en): the sandbox’s messages of that send, found by its short id',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/outbox');
			await field(page, t('en', 'outbox_batch_label')).fill(ctx.state.sendId.slice(0, 8));
			await field(page, t('en', 'outbox_batch_label')).press('Enter');
			await field(page, t('en', 'outbox_batch_label')).blur();
			await sees(page, t('en', 'outbox_count', { count: 40 }));
			await ctx.audit(page, 'en', 'outbox');
		}
	},
	{
		name: 'templates (en): a template with a variable some contacts lack, previewed and saved',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/templates');
			await field(page, t('en', 'tpl_name')).fill('Fair follow-up');
			await page.locator('textarea').fill('Hello {{name}}, see you in {{city}}');
			await page.locator('.preview').waitFor();
			await ctx.audit(page, 'en', 'templates');
			await button(page, 'en', 'create').click();
			await page.locator('tbody td', { hasText: 'Fair follow-up' }).waitFor();
			const zh = await ctx.as('operator', 'zh-CN');
			await ctx.open(zh, '/templates');
			await zh.locator('tbody td', { hasText: 'Fair follow-up' }).waitFor();
			await ctx.audit(zh, 'zh-CN', 'templates');
		}
	},
	{
		name: 'send (en): from a template; the review warns of a missing variable until “send anyway”',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/send?tags=vip');
			await page.getByRole('radio', { name: t('en', 'send_use_template') }).check();
			await field(page, t('en', 'send_template')).selectOption({ label: 'Fair follow-up' });
			const dialog = await review(page, 'en');
			await dialog.getByText(t('en', 'send_missing_vars')).waitFor();
			const confirm = button(dialog, 'en', 'send_send_to', { count: 40 });
			assert(await confirm.isDisabled(), 'confirm is disabled before “send anyway”');
			await ctx.audit(page, 'en', 'send-review-missing');
			await dialog.getByLabel(t('en', 'send_anyway')).check();
			await confirm.click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'en', 'COMPLETED');
			await ctx.audit(page, 'en', 'detail-send');
		}
	},
	{
		name: 'send (zh-CN): scheduled for tomorrow, listed under scheduled in history, cancelled there',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/send?tags=vip');
			await page.locator('textarea').last().fill('明天见 {{name}}');
			await page.getByLabel(t('zh-CN', 'send_later')).check();
			const d = new Date(Date.now() + 86_400_000);
			const local = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}T09:30`;
			await page.locator('input[type=datetime-local]').fill(local);
			const dialog = await review(page, 'zh-CN');
			await button(dialog, 'zh-CN', 'send_schedule_for', { count: 40 }).click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'zh-CN', 'PENDING');
			const id = page.url().split('/').pop()!;
			await ctx.open(page, '/batches');
			const scheduled = page.locator('.panel', { has: page.getByRole('heading', { name: t('zh-CN', 'hist_scheduled') }) });
			const row = scheduled.locator('tr', { hasText: id.slice(0, 8) });
			await row.waitFor();
			await ctx.audit(page, 'zh-CN', 'history-scheduled');
			await row.getByRole('button', { name: t('zh-CN', 'cancel') }).click();
			await row.waitFor({ state: 'detached' });
			await ctx.open(page, `/batches/${id}`);
			await statusIs(page, 'zh-CN', 'CANCELLED');
		}
	},
	{
		name: 'send (en): paced on the webhook channel — live rate, pause, resume, cancel while running',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/send?tags=e2e');
			await page.locator('textarea').last().fill('Paced hello {{name}}');
			await field(page, t('en', 'send_channel')).selectOption('hook');
			await page.getByLabel(t('en', 'send_pace')).check();
			await field(page, t('en', 'send_per_minute')).fill('120');
			await field(page, t('en', 'send_jitter')).fill('0');
			await page.getByText(tPrefix('en', 'send_estimate')).waitFor();
			const dialog = await review(page, 'en');
			await dialog.getByRole('button').first().click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'en', 'PROCESSING');
			await until('a first message sent', async () => (await count(page, t('en', 'word_sent'))) >= 1);
			await button(page, 'en', 'detail_pause').click();
			await statusIs(page, 'en', 'PAUSED');
			await ctx.audit(page, 'en', 'detail-send-paused');
			await button(page, 'en', 'detail_resume').click();
			await statusIs(page, 'en', 'PROCESSING');
			await page.getByText(t('en', 'detail_rate')).waitFor();
			await button(page, 'en', 'cancel').click();
			await statusIs(page, 'en', 'CANCELLED');
			const sent = await count(page, t('en', 'word_sent'));
			assert(sent < 122, `cancelled before all were sent (${sent})`);
		}
	},
	{
		name: 'send (zh-CN): failures on the webhook channel shown as failures, then “retry failed” sends them',
		async run(ctx) {
			const phones = ['+8613800000003', '+8613800000006'];
			for (const p of phones) ctx.answers.set(p, 'fail');
			// A permanent refusal (HTTP 400): failed for good, not retried.
			ctx.answers.set('+8613800000015', 'reject');
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/send?tags=vip');
			await page.locator('textarea').last().fill('重试测试 {{name}}');
			await field(page, t('zh-CN', 'send_channel')).selectOption('hook');
			const dialog = await review(page, 'zh-CN');
			await dialog.getByRole('button').first().click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'zh-CN', 'COMPLETED', 90_000);
			await until('3 failed', async () => (await count(page, t('zh-CN', 'word_failed'))) === 3);
			await page.locator('.banner').waitFor();
			// The provider's errors in Chinese words around the provider's own text.
			ctx.state.retrySendId = page.url().split('/').pop()!;
			await page.locator('tbody td', { hasText: '服务商出错 500' }).first().waitFor();
			await page.locator('tbody td', { hasText: t('zh-CN', 'srv_opted_out') }).first().waitFor();
			await ctx.audit(page, 'zh-CN', 'detail-send-failures');
			for (const p of phones) ctx.answers.set(p, 'ok');
			await button(page, 'zh-CN', 'detail_retry').click();
			await until('1 failed and 39 sent', async () => (await count(page, t('zh-CN', 'word_failed'))) === 1 && (await count(page, t('zh-CN', 'word_sent'))) === 39, 90_000);
			await statusIs(page, 'zh-CN', 'COMPLETED');
			// Only the permanent failure is left: no retry offered that the server would refuse.
			await page.reload();
			await page.locator('.counts').waitFor();
			assert((await button(page, 'zh-CN', 'detail_retry').count()) === 0, 'retry is not offered for a permanent failure');
			ctx.answers.delete('+8613800000015');
		}
	},
	{
		name: 'send (en): unknown outcomes on the Twilio channel, resent on the operator’s word',
		async run(ctx) {
			const phones = ['+8613800000009', '+8613800000012'];
			for (const p of phones) ctx.answers.set(p, 'fail');
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/send?tags=vip');
			await page.locator('textarea').last().fill('Unknown test {{name}}');
			await field(page, t('en', 'send_channel')).selectOption('twilio');
			const dialog = await review(page, 'en');
			await dialog.getByRole('button').first().click();
			await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
			await statusIs(page, 'en', 'COMPLETED', 90_000);
			await until('2 unknown', async () => (await count(page, t('en', 'detail_unknown'))) === 2);
			await ctx.audit(page, 'en', 'detail-send-unknown');
			for (const p of phones) ctx.answers.set(p, 'ok');
			await button(page, 'en', 'detail_resend_unknown').click();
			await until('0 unknown and 40 sent', async () => (await count(page, t('en', 'detail_unknown'))) === 0 && (await count(page, t('en', 'word_sent'))) === 40, 90_000);
		}
	}
];
