/**
 * Every page as each role in both languages (axe and a screenshot each), and a viewer
 * who is offered no control they cannot use.
 */
import { assert, LANGS, t, type Flow, type Lang, type Role } from '../harness';
import type { Page } from 'playwright-core';

const PAGES: Record<Role, string[]> = {
	admin: ['/contacts', '/batches', '/batches/send', '/batches/import', '/batches/tags', '/batches/delete', '/batches/stats', '/templates', '/outbox', '/settings', '/settings/account', '/settings/users', '/settings/channels', '/settings/audit'],
	operator: ['/contacts', '/batches', '/templates', '/outbox', '/settings', '/settings/account', '/settings/channels'],
	viewer: ['/contacts', '/batches', '/batches/stats', '/templates', '/outbox', '/settings', '/settings/account', '/settings/channels']
};

const shotName = (role: Role, p: string) => `${role}${p.replace(/\//g, '-')}`;

/** Buttons and links a viewer must not be offered, in `lang`. */
function forbidden(lang: Lang) {
	return ['tab_send', 'tab_import', 'tab_tags', 'tab_delete', 'edit', 'delete', 'cancel', 'detail_pause', 'detail_retry', 'detail_resend_unknown', 'detail_undo', 'tokens_revoke', 'contacts_import', 'create', 'save'].map((k) => t(lang, k));
}

async function offered(page: Page, lang: Lang) {
	const bad = new Set(forbidden(lang));
	const names = await page.locator('main button:visible, main a:visible, nav a:visible').allTextContents();
	return names.map((n) => n.trim()).filter((n) => bad.has(n));
}

export const roleFlows: Flow[] = [
	...(['admin', 'operator'] as const).flatMap((role) =>
		LANGS.map(
			(lang): Flow => ({
				name: `every page as ${role} (${lang}): loads, no console error, axe clean`,
				async run(ctx) {
					const page = await ctx.as(role, lang);
					for (const p of PAGES[role]) {
						await ctx.open(page, p);
						await page.locator('main h1, main h2, main table, main .panel').first().waitFor();
						await ctx.audit(page, lang, shotName(role, p));
					}
				}
			})
		)
	),
	...LANGS.map(
		(lang): Flow => ({
			name: `viewer (${lang}): every page readable, no control they cannot use`,
			async run(ctx) {
				const page = await ctx.as('viewer', lang);
				const pages = [...PAGES.viewer, `/batches/${ctx.state.sendId}`, `/batches/${ctx.state.deleteId}`, `/batches/${ctx.state.importId}`];
				for (const p of pages) {
					const detail = /^\/batches\/[0-9a-f-]{36}$/.test(p);
					await ctx.open(page, p);
					await page.locator('main h1, main h2, main table, main .panel').first().waitFor();
					if (detail) await page.locator('.panel .badge').first().waitFor();
					if (p === '/contacts') await page.locator('tbody tr td').nth(1).waitFor();
					const shown = await offered(page, lang);
					assert(shown.length === 0, `${p} offers a viewer: ${shown.join(', ')}`);
					assert((await page.locator('main input[type=checkbox]:visible').count()) === 0 || p.startsWith('/settings'), `${p} offers a viewer checkboxes`);
					await ctx.audit(page, lang, shotName('viewer', detail ? `/batch-${p.split('/')[2].slice(0, 8)}` : p));
				}
				// A viewer typing an operator's URL is told, not given a form.
				await ctx.open(page, '/batches/send');
				assert((await page.locator('main textarea').count()) === 0, 'the send form is not shown to a viewer');
			}
		})
	)
];
