/** Tags (add / remove / set, by filter and by selection) and delete with its typed confirm and undo. */
import { assert, button, field, sees, statusIs, t, until, type Flow, type Lang } from '../harness';
import type { Page } from 'playwright-core';

async function runBulk(page: Page, lang: Lang, count: number) {
	const dialog = page.getByRole('dialog');
	await dialog.waitFor();
	await dialog.locator('strong', { hasText: new RegExp(`^${count}$`) }).waitFor();
	return dialog;
}

export const bulkFlows: Flow[] = [
	{
		name: 'tags (zh-CN): add a tag to every contact matching a tag filter',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/tags');
			await field(page, t('zh-CN', 'picker_tags_label')).fill('vip');
			await field(page, t('zh-CN', 'tags_operation')).selectOption('add');
			await field(page, t('zh-CN', 'tags_label')).fill('gold');
			await ctx.audit(page, 'zh-CN', 'tags');
			await button(page, 'zh-CN', 'tags_review').click();
			const dialog = await runBulk(page, 'zh-CN', 41);
			await ctx.audit(page, 'zh-CN', 'tags-review');
			await dialog.getByRole('button').first().click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await ctx.audit(page, 'zh-CN', 'tags-done');
		}
	},
	{
		name: 'tags (en): remove a tag from two contacts ticked on the contacts page',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/contacts?tags=gold');
			await sees(page, t('en', 'contacts_count', { count: 41 }));
			const boxes = page.locator('tbody input[type=checkbox]');
			await boxes.nth(0).check();
			await boxes.nth(1).check();
			await sees(page, t('en', 'contacts_selected', { count: 2 }));
			await page.getByRole('link', { name: t('en', 'contacts_tag') }).click();
			await page.waitForURL(/\/batches\/tags\?/);
			await field(page, t('en', 'tags_operation')).selectOption('remove');
			await field(page, t('en', 'tags_label')).fill('gold');
			await button(page, 'en', 'tags_review').click();
			const dialog = await runBulk(page, 'en', 2);
			await dialog.getByRole('button').first().click();
			await statusIs(page, 'en', 'COMPLETED');
			await ctx.open(page, '/contacts?tags=gold');
			await sees(page, t('en', 'contacts_count', { count: 39 }));
		}
	},
	{
		name: 'tags (zh-CN): set (replace) the tags of contacts matching a search',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/tags');
			await field(page, t('zh-CN', 'picker_search_label')).fill('张伟');
			await field(page, t('zh-CN', 'tags_operation')).selectOption('set');
			await field(page, t('zh-CN', 'tags_label')).fill('gbk, 客户');
			await button(page, 'zh-CN', 'tags_review').click();
			const dialog = await runBulk(page, 'zh-CN', 1);
			await dialog.getByRole('button').first().click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			await ctx.open(page, '/contacts?search=%E5%BC%A0%E4%BC%9F');
			await until('张伟 tagged gbk and 客户 only', async () => {
				const text = (await page.locator('tbody tr', { hasText: '张伟' }).textContent()) ?? '';
				return text.includes('gbk') && text.includes('客户') && !text.includes('fair');
			});
		}
	},
	{
		name: 'delete (en): review, type the count to confirm, then undo from the batch page',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/delete');
			await field(page, t('en', 'picker_search_label')).fill('+86137');
			await ctx.audit(page, 'en', 'delete');
			await button(page, 'en', 'delete_review').click();
			const dialog = await runBulk(page, 'en', 3);
			const confirm = dialog.getByRole('button').first();
			assert(await confirm.isDisabled(), 'confirm waits for the typed count');
			await field(dialog, t('en', 'bulk_type_count')).fill('3');
			await ctx.audit(page, 'en', 'delete-review');
			await confirm.click();
			await statusIs(page, 'en', 'COMPLETED');
			const a = page.locator('section.panel a[href^="/batches/"]').first();
			const id = (await a.getAttribute('href'))!.split('/').pop()!;
			ctx.state.deleteId = id;
			await ctx.open(page, '/contacts?search=%2B86137');
			await sees(page, t('en', 'contacts_none'));
			await ctx.open(page, `/batches/${id}`);
			await ctx.audit(page, 'en', 'detail-delete');
			await button(page, 'en', 'detail_undo').click();
			const undo = page.locator('a[href^="/batches/"] code').last();
			await undo.waitFor();
			await undo.click();
			await page.waitForURL((u) => !u.pathname.endsWith(id));
			await statusIs(page, 'en', 'COMPLETED');
			ctx.state.undoId = page.url().split('/').pop()!;
			await ctx.audit(page, 'en', 'detail-undo');
			await ctx.open(page, '/contacts?search=%2B86137');
			await sees(page, t('en', 'contacts_count', { count: 3 }));
		}
	}
];
