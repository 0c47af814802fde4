/** Settings as an admin: users, channels (on the fake provider), API tokens, the audit log. */
import { assert, button, field as labelled, sees, t, until, type Flow } from '../harness';

export const settingsFlows: Flow[] = [
	{
		name: 'users (zh-CN): an admin adds an operator and a viewer, and changes a role',
		async run(ctx) {
			const page = await ctx.as('admin', 'zh-CN');
			await ctx.open(page, '/settings/users');
			for (const role of ['operator', 'viewer'] as const) {
				await page.fill('input[name=email]', ctx.users[role].email);
				await page.fill('input[name=password]', ctx.users[role].password);
				await page.selectOption('select[name=role]', role === 'operator' ? 'viewer' : role);
				await button(page, 'zh-CN', 'users_create').click();
				await page.locator(`tr[data-email="${ctx.users[role].email}"]`).waitFor();
			}
			// Created as a viewer, made an operator from the row.
			await page.locator(`tr[data-email="${ctx.users.operator.email}"] select`).selectOption('operator');
			await until('the role change to be saved', async () => (await page.locator('[role=status]').textContent())?.includes(ctx.users.operator.email));
			await page.reload();
			await until('the operator role after a reload', async () => (await page.locator(`tr[data-email="${ctx.users.operator.email}"] select`).inputValue()) === 'operator');
			await ctx.audit(page, 'zh-CN', 'settings-users');
		}
	},
	{
		name: 'channels (en): an admin adds a webhook channel and a Twilio channel on the fake provider',
		async run(ctx) {
			const page = await ctx.as('admin', 'en');
			await ctx.open(page, '/settings/channels');
			const form = page.locator('.panel').filter({ has: page.getByRole('heading', { name: t('en', 'ch_new') }) });
			const field = (key: string) => labelled(form, t('en', key));
			await field('ch_col_id').fill('hook');
			await field('col_name').fill('Fake webhook');
			await field('ch_col_kind').selectOption('webhook');
			await field('ch_cap_label').fill('50');
			await field('chf_url').fill(`${ctx.provider.url}/hook`);
			await button(form, 'en', 'create').click();
			await page.locator('td code', { hasText: /^hook$/ }).waitFor();
			await field('ch_col_id').fill('twilio');
			await field('col_name').fill('Fake Twilio');
			await field('ch_col_kind').selectOption('twilio');
			await field('chf_baseUrl_twilio').fill(ctx.provider.url);
			await field('chf_accountSid').fill('AC00000000000000000000000000000000');
			await field('chf_authToken').fill('secret-token');
			await field('chf_from').fill('+15005550006');
			await button(form, 'en', 'create').click();
			await page.locator('td code', { hasText: /^twilio$/ }).waitFor();
			await ctx.audit(page, 'en', 'settings-channels');
		}
	},
	{
		name: 'API tokens (zh-CN): created and shown once, works as a Bearer token, revoked',
		async run(ctx) {
			const page = await ctx.as('admin', 'zh-CN');
			await ctx.open(page, '/settings');
			await page.getByLabel(t('zh-CN', 'tokens_name_label')).fill('e2e-script');
			await button(page, 'zh-CN', 'tokens_create').click();
			const shown = page.locator('[data-testid=new-token]');
			await shown.waitFor();
			const token = (await shown.textContent())!.trim();
			assert(token.startsWith('bd_tok_'), `token ${token}`);
			const me = () => fetch(`${ctx.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
			assert((await me()).status === 200, 'the token works');
			await ctx.audit(page, 'zh-CN', 'settings-tokens');
			await page.locator('tr', { hasText: 'e2e-script' }).getByRole('button', { name: t('zh-CN', 'tokens_revoke') }).click();
			await until('the token to be refused', async () => (await me()).status === 401);
		}
	},
	{
		name: 'audit log (en): the admin sees who created the users and channels, filtered by action',
		async run(ctx) {
			const page = await ctx.as('admin', 'en');
			await ctx.open(page, '/settings/audit');
			await page.locator('table').getByText(ctx.users.operator.email).first().waitFor();
			await ctx.audit(page, 'en', 'settings-audit');
			const zh = await ctx.as('admin', 'zh-CN');
			await ctx.open(zh, '/settings/audit');
			await zh.locator('table').getByText(ctx.users.operator.email).first().waitFor();
			await ctx.audit(zh, 'zh-CN', 'settings-audit');
		}
	}
];
