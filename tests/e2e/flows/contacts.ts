/** Contacts as an operator: search, tag filter, select page / all matching, edit, opt-out. */
import { assert, button, field, sees, t, until, type Flow } from '../harness';

export const contactsFlows: Flow[] = [
	{
		name: 'contacts (zh-CN): search by name and filter by a tag from the sidebar',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/contacts');
			await page.getByLabel(t('zh-CN', 'contacts_search')).fill('张伟');
			await until('one row for 张伟', async () => (await page.locator('tbody tr').count()) === 1 && (await page.locator('tbody').textContent())?.includes('+8613900000001'));
			await page.getByLabel(t('zh-CN', 'contacts_search')).fill('');
			await page.locator('aside button', { hasText: /^vip$/ }).click();
			await sees(page, t('zh-CN', 'contacts_count', { count: 40 }));
			await ctx.audit(page, 'zh-CN', 'contacts');
		}
	},
	{
		name: 'contacts (en): select the page, then all matching, and take the selection to Tag',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/contacts');
			await page.locator('aside button', { hasText: /^e2e$/ }).click();
			await sees(page, t('en', 'contacts_count', { count: 123 }));
			await page.getByLabel(t('en', 'contacts_select_page')).check();
			await sees(page, t('en', 'contacts_selected', { count: 50 }));
			await button(page, 'en', 'contacts_select_all', { count: 123 }).click();
			await sees(page, t('en', 'contacts_selected', { count: 123 }));
			await ctx.audit(page, 'en', 'contacts-selected');
			await page.getByRole('link', { name: t('en', 'contacts_tag') }).click();
			await page.waitForURL(/\/batches\/tags\?/);
			await field(page, t('en', 'tags_label')).fill('picked');
			await button(page, 'en', 'tags_review').click();
			const dialog = page.getByRole('dialog');
			await dialog.getByText('123').first().waitFor();
			await ctx.audit(page, 'en', 'tags-review');
			await dialog.getByRole('button').first().click();
			await page.locator('.badge', { hasText: t('en', 'status_completed') }).first().waitFor({ timeout: 60_000 });
			await ctx.open(page, '/contacts?tags=picked');
			await page.locator('aside button', { hasText: /^picked$/ }).waitFor();
		}
	},
	{
		name: 'contacts (zh-CN): edit a contact’s name and tags, and opt them out',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/contacts');
			await page.getByLabel(t('zh-CN', 'contacts_search')).fill('+8613800000001');
			const row = page.locator('tbody tr', { hasText: '+8613800000001' });
			await until('one row', async () => (await page.locator('tbody tr').count()) === 1 && (await row.count()) === 1);
			await row.getByRole('button', { name: t('zh-CN', 'edit') }).click();
			const dialog = page.getByRole('dialog');
			await field(dialog, t('zh-CN', 'contacts_name')).fill('王芳');
			await field(dialog, t('zh-CN', 'contacts_tags_label')).fill('e2e, vip, 已联系');
			await dialog.locator('input[type=checkbox]').check();
			await ctx.audit(page, 'zh-CN', 'contacts-edit');
			await button(dialog, 'zh-CN', 'save').click();
			await dialog.waitFor({ state: 'detached' });
			await until('the row to show the edit', async () => {
				const text = (await row.textContent()) ?? '';
				return text.includes('王芳') && text.includes('已联系') && text.includes(t('zh-CN', 'yes'));
			});
			ctx.state.optedOut = '+8613800000001';
		}
	}
];
