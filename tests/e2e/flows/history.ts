/** History (filters and paging in the URL), batch detail of every type, stats, and the polling fallback. */
import { assert, button, field, LANGS, sees, t, until, type Flow } from '../harness';

const TYPES = ['IMPORT', 'SEND', 'TAG', 'DELETE', 'UNDO'] as const;

export const historyFlows: Flow[] = [
	{
		name: 'history (en): type and status filters in the URL, kept on reload; paging through 50+ batches',
		async run(ctx) {
			// Enough tag batches for a second page of history (50 a page).
			for (let i = 0; i < 45; i++) {
				await ctx.mutate('operator', 'batch.tags', { filter: { search: '张伟' }, tags: [`page-${i % 3}`], operation: 'add', idempotencyKey: `paging-${i}` });
			}
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches');
			await field(page, t('en', 'col_type')).selectOption('SEND');
			await field(page, t('en', 'col_status')).selectOption('COMPLETED');
			await page.waitForURL(/\?type=SEND&status=COMPLETED$/);
			await until('only completed sends listed', async () => {
				const types = await page.locator('tbody tr td:nth-child(2)').allTextContents();
				return types.length >= 4 && types.every((x) => x === t('en', 'type_send'));
			});
			await page.reload();
			await until('the filters kept on reload', async () => (await field(page, t('en', 'col_type')).inputValue()) === 'SEND');
			await ctx.audit(page, 'en', 'history-filtered');
			await ctx.open(page, '/batches');
			await sees(page, t('en', 'range_of', { from: 1, to: 50, total: '' }).trim());
			await button(page, 'en', 'hist_older').click();
			await page.waitForURL(/\?page=2$/);
			await sees(page, t('en', 'range_of', { from: 51, to: '', total: '' }).split('–')[0].trim());
			await page.reload();
			await until('page 2 kept on reload', async () => !(await button(page, 'en', 'hist_newer').isDisabled()));
			await button(page, 'en', 'hist_newer').click();
			await page.waitForURL(/\/batches$/);
		}
	},
	{
		name: 'batch detail (both languages): a batch of every type opens from history',
		async run(ctx) {
			for (const lang of LANGS) {
				const page = await ctx.as('operator', lang);
				for (const type of TYPES) {
					await ctx.open(page, `/batches?type=${type}`);
					const link = page.locator('tbody tr td a').first();
					await link.waitFor();
					await link.click();
					await page.waitForURL(/\/batches\/[0-9a-f-]{36}$/);
					await page.locator('.panel h2', { hasText: t(lang, `type_${type.toLowerCase()}`) }).waitFor();
					await page.locator('.panel .badge').first().waitFor();
					await ctx.audit(page, lang, `detail-${type.toLowerCase()}`);
				}
			}
		}
	},
	{
		name: 'batch detail (en): the 8-character id resolves, and the send’s items filter by status',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, `/batches/${ctx.state.sendId.slice(0, 8)}`);
			await page.locator('.panel h2 code', { hasText: ctx.state.sendId.slice(0, 8) }).waitFor();
			await field(page, t('en', 'col_status')).selectOption('skipped');
			await sees(page, t('en', 'detail_items_one'));
		}
	},
	{
		name: 'stats (both languages): cards and charts',
		async run(ctx) {
			for (const lang of LANGS) {
				const page = await ctx.as('operator', lang);
				await ctx.open(page, '/batches/stats');
				await page.locator('canvas').first().waitFor();
				await sees(page, t(lang, 'stats_success_rate'));
				await ctx.audit(page, lang, 'stats');
			}
		}
	},
	{
		name: 'polling fallback (zh-CN): with the live socket blocked, history says so and still shows a new batch',
		async run(ctx) {
			const page = await ctx.newPage('zh-CN');
			const signedIn = await ctx.as('operator', 'zh-CN');
			await page.context().addCookies(await signedIn.context().cookies());
			await page.context().routeWebSocket(/\/api\/trpc-ws/, (ws) => ws.close());
			// The refused socket is reported by the browser.
			ctx.allowed = [/WebSocket|trpc-ws/i];
			await ctx.open(page, '/batches');
			await sees(page, t('zh-CN', 'live_polling'));
			await ctx.audit(page, 'zh-CN', 'history-polling');
			const b = await ctx.mutate<{ id: string }>('operator', 'batch.tags', { filter: { search: '张伟' }, tags: ['polled'], operation: 'add' });
			await page.locator('tbody a', { hasText: b.id.slice(0, 8) }).waitFor({ timeout: 20_000 });
			await ctx.open(page, `/batches/${b.id}`);
			await sees(page, t('zh-CN', 'detail_polling'));
			await page.context().close();
		}
	}
];
