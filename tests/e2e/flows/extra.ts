/** Smaller checks: clearing a selection, errors by code, outbox search, cancelled filter, admin-only pages, an empty send. */
import { assert, button, field, sees, t, until, type Flow } from '../harness';

export const extraFlows: Flow[] = [
	{
		name: 'contacts (zh-CN): a selection cleared leaves the hint and no bulk links',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/contacts?tags=vip');
			await page.locator('tbody input[type=checkbox]').first().check();
			await sees(page, t('zh-CN', 'contacts_selected', { count: 1 }));
			await button(page, 'zh-CN', 'contacts_clear').click();
			await sees(page, t('zh-CN', 'contacts_tick_hint'));
			assert((await page.getByRole('link', { name: t('zh-CN', 'contacts_send') }).count()) === 0, 'no Send link without a selection');
		}
	},
	{
		name: 'batch detail (en): the errors-by-code buttons filter the items',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, `/batches/${ctx.state.retrySendId}`);
			await page.getByRole('button', { name: /^http_400: 1$/ }).click();
			await sees(page, t('en', 'detail_items_one'));
			await page.locator('tbody td', { hasText: '+8613800000015' }).waitFor();
		}
	},
	{
		name: 'outbox (zh-CN): messages found by phone',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/outbox');
			const search = field(page, t('zh-CN', 'outbox_search_label'));
			await search.fill('+8613800000003');
			await search.press('Enter');
			await search.blur();
			await until('only that phone listed', async () => {
				const phones = await page.locator('tbody tr td:nth-child(2)').allTextContents();
				return phones.length > 0 && phones.every((p) => p === '+8613800000003');
			});
		}
	},
	{
		name: 'history (zh-CN): the cancelled filter lists only cancelled batches',
		async run(ctx) {
			const page = await ctx.as('viewer', 'zh-CN');
			await ctx.open(page, '/batches?status=CANCELLED');
			await until('only cancelled batches', async () => {
				const badges = await page.locator('tbody tr td:nth-child(3) .badge').allTextContents();
				return badges.length >= 3 && badges.every((b) => b === t('zh-CN', 'status_cancelled'));
			});
		}
	},
	{
		name: 'admin-only pages (en): an operator reads why, and gets no form',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/settings/users');
			await sees(page, t('en', 'users_admin_only'));
			assert((await page.locator('input[name=email]').count()) === 0, 'no create-user form');
			await ctx.open(page, '/settings/audit');
			await sees(page, t('en', 'audit_admin_only'));
			await ctx.open(page, '/settings/channels');
			await sees(page, t('en', 'ch_admin_only'));
		}
	},
	{
		name: 'send (en): no review without a message; the review button waits for one',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/send?tags=vip');
			const review = button(page, 'en', 'send_review_button');
			await page.locator('textarea').last().fill('');
			await until('review disabled with no message', async () => await review.isDisabled());
			await page.locator('textarea').last().fill('now there is one');
			await until('review enabled', async () => !(await review.isDisabled()));
		}
	}
];
