/** Imports as an operator: preview, mapping, options, live progress, pause/cancel, failed rows, GBK. */
import fs from 'node:fs';
import { assert, button, field, panelBatchId, sees, statusIs, t, tPrefix, until, upload, type Flow } from '../harness';

/** 120 contacts tagged e2e (every third also vip) and 3 rows that are not phone numbers, with Chinese headers. */
export function contactsCsv() {
	const rows = ['手机,姓名,标签'];
	for (let i = 1; i <= 120; i++) rows.push(`+86138${String(i).padStart(8, '0')},客户${i},${i % 3 === 0 ? 'e2e;vip' : 'e2e'}`);
	rows.push('12abc,坏号码一,e2e', 'not a phone,坏号码二,e2e', '+86,坏号码三,e2e');
	return rows.join('\n') + '\n';
}

export const importFlows: Flow[] = [
	{
		name: 'import (zh-CN): preview, Chinese headers mapped, options, result with 3 invalid rows',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/import');
			await ctx.audit(page, 'zh-CN', 'import');
			await upload(page, 'contacts.csv', contactsCsv());
			const phoneSelect = page.locator('th select').first();
			await until('手机 to be mapped to phone', async () => (await phoneSelect.inputValue()) === 'phone');
			assert((await page.locator('th select').nth(1).inputValue()) === 'name', '姓名 mapped to name');
			assert((await page.locator('th select').nth(2).inputValue()) === 'tags', '标签 mapped to tags');
			await field(page, t('zh-CN', 'imp_tags')).fill('fair');
			await field(page, t('zh-CN', 'imp_source')).fill('e2e 展会');
			await ctx.audit(page, 'zh-CN', 'import-preview');
			await button(page, 'zh-CN', 'imp_start').click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			const link = page.getByRole('link', { name: t('zh-CN', 'imp_download_invalid', { count: 3 }) });
			await link.waitFor();
			ctx.state.importId = await panelBatchId(page);
			// The server's reasons for the invalid rows, in Chinese.
			const ledger = page.locator('table', { has: page.locator('th', { hasText: t('zh-CN', 'imp_reason') }) });
			await until('the 3 invalid rows listed with reasons in Chinese', async () => {
				const reasons = await ledger.locator('tbody tr td:nth-child(3)').allTextContents();
				return reasons.length === 3 && reasons.every((r) => /手机号/.test(r) && !/phone/i.test(r));
			});
			await ctx.audit(page, 'zh-CN', 'import-done');
		}
	},
	{
		name: 'import (en): failed rows downloaded from the batch page, fixed and uploaded again',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, `/batches/${ctx.state.importId}`);
			await statusIs(page, 'en', 'COMPLETED');
			await ctx.audit(page, 'en', 'detail-import');
			const [download] = await Promise.all([
				page.waitForEvent('download'),
				page.getByRole('link', { name: t('en', 'detail_download_invalid', { count: 3 }) }).click()
			]);
			const csv = fs.readFileSync((await download.path())!, 'utf8');
			const lines = csv.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
			assert(lines.length === 4, `failed rows CSV has ${lines.length} lines:\n${csv}`);
			// Columns: row number, the file's own columns (phone first), the reason. Fix each phone and upload the file as it came.
			const fixed = [lines[0], ...lines.slice(1).map((l, i) => l.replace(/^([^,]*),([^,]*)/, `$1,+86137${String(i + 1).padStart(8, '0')}`))].join('\n');
			await ctx.open(page, '/batches/import');
			await upload(page, 'fixed.csv', fixed);
			await until('the phone column to be mapped', async () => (await page.locator('th select').nth(1).inputValue()) === 'phone');
			await button(page, 'en', 'imp_start').click();
			await statusIs(page, 'en', 'COMPLETED');
			await page.locator('.cards').waitFor();
			const cards = await page.locator('.cards').textContent();
			assert(/\b3\b/.test(cards ?? ''), `3 contacts created: ${cards}`);
			assert((await page.getByRole('link', { name: tPrefix('en', 'imp_download_invalid') }).count()) === 0, 'no invalid rows left');
		}
	},
	{
		name: 'import (zh-CN): a GBK file (Chinese Excel) previews in Chinese with a note, and imports',
		async run(ctx) {
			const page = await ctx.as('operator', 'zh-CN');
			await ctx.open(page, '/batches/import');
			// 手机,姓名,标签 / +8613900000001,张伟,客户 in GBK.
			const gbk = Buffer.concat([
				Buffer.from('cad6bbfa2cd0d5c3fb2cb1eac7a90a', 'hex'),
				Buffer.from('+8613900000001,'),
				Buffer.from('d5c5ceb0', 'hex'),
				Buffer.from(','),
				Buffer.from('bfcdbba7', 'hex'),
				Buffer.from('\n')
			]);
			await upload(page, 'gbk.csv', gbk);
			await page.locator('th', { hasText: '手机' }).waitFor();
			await page.locator('td', { hasText: '张伟' }).waitFor();
			await page.locator('p.warn').waitFor();
			await button(page, 'zh-CN', 'imp_start').click();
			await statusIs(page, 'zh-CN', 'COMPLETED');
			ctx.state.gbkImportId = await panelBatchId(page);
			await ctx.audit(page, 'zh-CN', 'import-gbk');
		}
	},
	{
		name: 'import (en): a large file shows live progress, pauses, resumes and is cancelled',
		async run(ctx) {
			const page = await ctx.as('operator', 'en');
			await ctx.open(page, '/batches/import');
			const rows = ['phone,name'];
			for (let i = 0; i < 80_000; i++) rows.push(`+86139${String(10_000_000 + i)},bulk ${i}`);
			await upload(page, 'large.csv', rows.join('\n'));
			await until('the phone column to be mapped', async () => (await page.locator('th select').first().inputValue()) === 'phone');
			await field(page, t('en', 'imp_tags')).fill('bulk');
			await button(page, 'en', 'imp_start').click();
			await button(page, 'en', 'detail_pause').waitFor({ timeout: 60_000 });
			const bar = page.locator('section.panel [role=progressbar]').last();
			const first = Number(await bar.getAttribute('aria-valuenow'));
			await button(page, 'en', 'detail_pause').click();
			await statusIs(page, 'en', 'PAUSED');
			await ctx.audit(page, 'en', 'import-paused');
			await button(page, 'en', 'detail_resume').click();
			await statusIs(page, 'en', 'PROCESSING');
			await until('the bar to move on', async () => Number(await bar.getAttribute('aria-valuenow')) > first);
			await page.locator('p.rate').waitFor();
			await button(page, 'en', 'cancel').click();
			await statusIs(page, 'en', 'CANCELLED');
			ctx.state.largeImportId = await panelBatchId(page);
		}
	}
];
