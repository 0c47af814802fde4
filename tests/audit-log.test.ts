/**
 * Issue 14 item 4, through the API: every change made by a person or a token is in the
 * audit log with its actor (a session user, or a token with its owner), the refused
 * sign-ins with the email tried, nothing for a change that failed or rolled back; the
 * database itself refuses to edit or delete an entry; audit.list filters and refuses
 * non-admins; the CSV export gives the same filtered log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RequestEvent } from '@sveltejs/kit';
import { sql } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';
import { createApiToken } from '../src/lib/server/auth/tokens';
import { resolveAuth } from '../src/lib/server/auth/resolve';
import type { AuthUser } from '../src/lib/server/auth/types';
import type { AuditEntry } from '../src/lib/server/audit/list';
import { POST as uploadRoute } from '../src/routes/api/imports/+server';
import { GET as auditCsvRoute } from '../src/routes/api/audit.csv/+server';
import { appRouter } from '../src/lib/server/trpc/router';
import { caller, userCaller } from './helpers';

const PASSWORD = 'correct horse battery';
const IP = '198.51.100.77';

type Caller = ReturnType<typeof caller>;
let admin: { user: AuthUser; call: Caller };
let op: { user: AuthUser; call: Caller };
/** The operator acting through an API token: what a script does. */
let script: { user: AuthUser; call: Caller; tokenId: number };

beforeAll(async () => {
	process.env.BATCHDESK_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-audit-test-'));
	resetEnvCache();
	const a = await userCaller('admin');
	admin = { user: a.user, call: caller({ user: a.user, ip: IP }) };
	const o = await userCaller('operator');
	op = { user: o.user, call: caller({ user: o.user, ip: IP }) };
	const t = await createApiToken(o.user.id, 'nightly script');
	const auth = await resolveAuth({ bearer: t.token });
	script = { user: auth.user!, call: caller({ user: auth.user, ip: '203.0.113.5' }), tokenId: t.id };
});

/** Entries of one action (newest first), read as an admin reads them. */
async function entries(action: string, limit = 50): Promise<AuditEntry[]> {
	return (await admin.call.audit.list({ action, limit })).items as AuditEntry[];
}

async function lastOf(action: string, targetId?: string | number): Promise<AuditEntry> {
	const all = await entries(action);
	const e = targetId === undefined ? all[0] : all.find((x) => x.target.id === String(targetId));
	expect(e, `an entry ${action}${targetId === undefined ? '' : ` for ${targetId}`}`).toBeDefined();
	return e!;
}

const bySession = (u: AuthUser) => ({ id: u.id, email: u.email, tokenId: null, tokenName: null });
const byToken = () => ({ id: script.user.id, email: script.user.email, tokenId: script.tokenId, tokenName: 'nightly script' });

let seq = 0;
async function contact(name = 'Ann', opts: { optedOut?: boolean } = {}) {
	const phone = `+4478${String(++seq).padStart(8, '0')}`;
	const [row] = await sql()<{ id: string }[]>`
		insert into contacts (phone_e164, name, tags, attributes, source, opted_out_at)
		values (${phone}, ${name}, ${['audit']}, '{}'::jsonb, 'test', ${opts.optedOut ? new Date() : null}) returning id`;
	return Number(row.id);
}

async function count(): Promise<number> {
	const [r] = await sql()<{ n: number }[]>`select count(*)::int as n from audit_log`;
	return r.n;
}

function fakeEvent(url: string, user: AuthUser | null, init: RequestInit = {}): RequestEvent {
	return {
		request: new Request(url, init),
		url: new URL(url),
		locals: { user, sessionToken: null },
		params: {},
		getClientAddress: () => '192.0.2.44'
	} as unknown as RequestEvent;
}

describe('sign-in and sign-out', () => {
	it('records a sign-in with its user and address, a refused one with the email tried, and a sign-out', async () => {
		const { user } = await userCaller('viewer');
		const signedIn = await caller({ ip: '198.51.100.20' }).auth.login({ email: user.email, password: PASSWORD });
		const ok = (await entries('auth.login')).find((e) => e.actor.id === user.id && e.details.ok === true)!;
		expect(ok).toMatchObject({ actor: bySession(user), target: { type: 'user', id: String(user.id) }, ip: '198.51.100.20' });

		await expect(caller({ ip: '198.51.100.21' }).auth.login({ email: user.email, password: 'not it at all' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		await expect(caller({ ip: '198.51.100.21' }).auth.login({ email: 'nobody@nowhere.test', password: 'a guess' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
		const failed = (await entries('auth.login')).filter((e) => e.details.ok === false);
		// Nobody is signed in: no actor; the email tried and the address are what the admin sees.
		expect(failed.find((e) => e.details.email === user.email)).toMatchObject({
			actor: { id: null, email: null, tokenId: null },
			target: { type: 'user', id: String(user.id) },
			ip: '198.51.100.21'
		});
		expect(failed.find((e) => e.details.email === 'nobody@nowhere.test')).toMatchObject({ actor: { id: null }, target: { type: null, id: null } });
		// No password in any entry, right or wrong.
		expect(JSON.stringify(await entries('auth.login'))).not.toMatch(/not it at all|a guess|correct horse/);

		// Sign-out, with the session the sign-in opened (the cookie's token is never recorded).
		const me = await resolveAuth({ sessionToken: (await sessionOf(user.email)) ?? '' });
		expect(signedIn.user.id).toBe(user.id);
		await caller({ user: me.user, sessionToken: me.sessionToken, ip: '198.51.100.20' }).auth.logout();
		const out = await lastOf('auth.logout');
		expect(out).toMatchObject({ actor: bySession(user), target: { type: 'user', id: String(user.id) } });
		expect(JSON.stringify(out)).not.toContain('bd_sess_');
	});
});

/** A session token of this user, made through auth.login with its cookie captured. */
async function sessionOf(email: string): Promise<string | null> {
	let token: string | null = null;
	await caller({ ip: '198.51.100.22', setCookie: (t) => (token = t) }).auth.login({ email, password: PASSWORD });
	return token;
}

describe('accounts and tokens', () => {
	it('records users, roles, disabling, password resets and changes, tokens; never a password or a token', async () => {
		const u = await admin.call.users.create({ email: 'audited@test.local', password: 'first password 1', role: 'viewer' });
		expect(await lastOf('users.create', u.id)).toMatchObject({ actor: bySession(admin.user), details: { email: 'audited@test.local', role: 'viewer' }, ip: IP });
		await admin.call.users.setRole({ id: u.id, role: 'operator' });
		expect((await lastOf('users.setRole', u.id)).details).toMatchObject({ before: { role: 'viewer' }, after: { role: 'operator' } });
		await admin.call.users.setDisabled({ id: u.id, disabled: true });
		expect((await lastOf('users.setDisabled', u.id)).details).toMatchObject({ before: { disabled: false }, after: { disabled: true } });
		await admin.call.users.setDisabled({ id: u.id, disabled: false });
		await admin.call.users.resetPassword({ id: u.id, password: 'reset password 22' });
		expect(await lastOf('users.resetPassword', u.id)).toMatchObject({ actor: bySession(admin.user) });

		// The user changes their own password.
		const self = { id: u.id, email: u.email, role: 'operator' as const, via: 'session' as const };
		await caller({ user: self, ip: IP }).auth.changePassword({ oldPassword: 'reset password 22', newPassword: 'my own password 3' });
		expect(await lastOf('auth.changePassword', u.id)).toMatchObject({ actor: bySession(self) });

		// Tokens: created and revoked, by name; the secret is in the answer only.
		const t = await caller({ user: self, ip: IP }).tokens.create({ name: 'laptop' });
		expect(await lastOf('tokens.create', t.id)).toMatchObject({ actor: bySession(self), details: { name: 'laptop', ownerId: u.id } });
		await admin.call.tokens.revoke({ id: t.id });
		expect(await lastOf('tokens.revoke', t.id)).toMatchObject({ actor: bySession(admin.user), details: { name: 'laptop', ownerId: u.id } });

		await admin.call.users.delete({ id: u.id });
		expect(await lastOf('users.delete', u.id)).toMatchObject({ details: { email: 'audited@test.local', role: 'operator' } });
		// The entries outlive the account they name.
		expect(await lastOf('users.create', u.id)).toBeDefined();

		const all = JSON.stringify((await admin.call.audit.list({ limit: 500 })).items);
		for (const secret of ['first password 1', 'reset password 22', 'my own password 3', t.token, t.token.slice(7)]) expect(all).not.toContain(secret);
	});
});

describe('channels, templates and contacts', () => {
	it('records channel changes with the secrets named, never their values', async () => {
		const secret = 'shh-very-secret-value';
		await admin.call.channels.create({ id: 'audit-hook', name: 'Hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/hook', secret } });
		const created = await lastOf('channels.create', 'audit-hook');
		expect(created.details).toMatchObject({ after: { name: 'Hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/hook' }, secretsSet: ['secret'] } });
		await admin.call.channels.update({ id: 'audit-hook', name: 'Hook 2', ratePerSecond: 7, config: { secret: 'another-secret-value' } });
		expect((await lastOf('channels.update', 'audit-hook')).details).toMatchObject({
			before: { name: 'Hook', ratePerSecond: 100 },
			after: { name: 'Hook 2', ratePerSecond: 7 },
			secretsChanged: ['secret']
		});
		await admin.call.channels.delete({ id: 'audit-hook' });
		expect((await lastOf('channels.delete', 'audit-hook')).details).toMatchObject({ before: { name: 'Hook 2' } });
		const all = JSON.stringify([...(await entries('channels.create')), ...(await entries('channels.update')), ...(await entries('channels.delete'))]);
		expect(all).not.toContain(secret);
		expect(all).not.toContain('another-secret-value');
	});

	it('records templates with before and after', async () => {
		const t = await op.call.templates.create({ name: 'audit welcome', body: 'Hi {{name}}' });
		expect(await lastOf('templates.create', t.id)).toMatchObject({ actor: bySession(op.user), details: { after: { name: 'audit welcome', body: 'Hi {{name}}' } } });
		await op.call.templates.update({ id: t.id, body: 'Hello {{name}}' });
		expect((await lastOf('templates.update', t.id)).details).toMatchObject({ before: { body: 'Hi {{name}}' }, after: { body: 'Hello {{name}}' } });
		await op.call.templates.delete({ id: t.id });
		expect((await lastOf('templates.delete', t.id)).details).toMatchObject({ before: { name: 'audit welcome' } });
	});

	it('records a contact edit by a token, the opt-out before and after', async () => {
		const id = await contact('Opal');
		await script.call.contacts.update({ id, optedOut: true, name: 'Opal Q' });
		const e = await lastOf('contacts.update', id);
		expect(e).toMatchObject({
			actor: byToken(),
			target: { type: 'contact', id: String(id) },
			details: { before: { optedOut: false, optedOutAt: null, name: 'Opal' }, after: { optedOut: true, name: 'Opal Q' } },
			ip: '203.0.113.5'
		});
		// Only the fields given are in the entry.
		expect(e.details.before).not.toHaveProperty('tags');
	});
});

describe('batch mutations', () => {
	it('records import, upload, send, tags and delete, each with its batch and actor', async () => {
		const imp = await script.call.batch.import({ contacts: [{ phoneE164: '+447900000001' }, { phoneE164: '+447900000002' }], tags: ['imported'] });
		expect(await lastOf('batch.import', imp.id)).toMatchObject({ actor: byToken(), target: { type: 'batch' }, details: { format: 'json', contactCount: 2, tags: ['imported'] } });

		const res = await uploadRoute(
			fakeEvent('http://batchdesk.test/api/imports?filename=list.csv', script.user, {
				method: 'POST',
				headers: { 'content-type': 'text/csv' },
				body: 'phone,name\n+447900000003,Cy\n'
			}) as never
		);
		expect(res.status).toBe(201);
		const uploaded = (await res.json()) as { id: string };
		expect(await lastOf('upload', uploaded.id)).toMatchObject({ actor: byToken(), details: { format: 'csv', fileName: 'list.csv', records: 1 }, ip: '192.0.2.44' });

		const a = await contact('A');
		const b = await contact('B', { optedOut: true });
		const send = await op.call.batch.send({ contactIds: [a, b], content: 'Hi', scheduleAt: new Date(Date.now() + 3_600_000) });
		expect(await lastOf('batch.send', send.id)).toMatchObject({
			actor: bySession(op.user),
			details: { channelId: 'sandbox', contactIdsCount: 2, recipients: 2, skipped: 1 }
		});

		const tags = await op.call.batch.tags({ filter: { tags: ['audit'] }, operation: 'add', tags: ['seen'] });
		expect((await lastOf('batch.tags', tags.id)).details).toEqual({ operation: 'add', tags: ['seen'], filter: { tags: ['audit'] } });
		const del = await script.call.batch.delete({ contactIds: [a, a, b] });
		expect(await lastOf('batch.delete', del.id)).toMatchObject({ actor: byToken(), details: { contactIdsCount: 2 } });
		// Ids are counted, not listed: one entry of a fixed size per batch, whatever its size.
		expect((await lastOf('batch.delete', del.id)).details).not.toHaveProperty('contactIds');
	});

	it('records cancel, pause, resume, retry, resend-unknown and mark-sent with their transitions', async () => {
		const ids = [await contact('P'), await contact('Q'), await contact('R')];
		const send = await op.call.batch.send({ contactIds: ids, content: 'Hi', scheduleAt: new Date(Date.now() + 3_600_000) });
		// As if the worker had started it and three outcomes were in: one failed (retryable), two unknown.
		await sql()`update batch_operations set status = 'PROCESSING', started_at = now(), processed_count = 3, failed_count = 1, unknown_count = 2 where id = ${send.id}`;
		await sql()`
			update batch_items set status = case when contact_id = ${ids[0]} then 'failed' else 'unknown' end,
				error_class = case when contact_id = ${ids[0]} then 'transient' else 'unknown' end
			where batch_id = ${send.id}`;

		await script.call.batch.pause({ batchId: send.id });
		expect(await lastOf('batch.pause', send.id)).toMatchObject({ actor: byToken(), details: { batchType: 'SEND', from: 'PROCESSING', to: 'PAUSED' } });
		await op.call.batch.resume({ batchId: send.id });
		expect((await lastOf('batch.resume', send.id)).details).toMatchObject({ from: 'PAUSED', to: 'PROCESSING' });
		await op.call.batch.pause({ batchId: send.id });
		await op.call.batch.retryFailed({ batchId: send.id });
		expect((await lastOf('batch.retryFailed', send.id)).details).toMatchObject({ items: 1 });
		await op.call.batch.markUnknownSent({ batchId: send.id });
		expect(await lastOf('batch.markUnknownSent', send.id)).toMatchObject({ actor: bySession(op.user), details: { items: 2 } });
		await sql()`update batch_items set status = 'unknown' where batch_id = ${send.id} and contact_id = ${ids[1]}`;
		await sql()`update batch_operations set unknown_count = unknown_count + 1, success_count = success_count - 1 where id = ${send.id}`;
		await op.call.batch.resendUnknown({ batchId: send.id });
		expect((await lastOf('batch.resendUnknown', send.id)).details).toMatchObject({ items: 1 });
		await op.call.batch.cancel({ batchId: send.id });
		expect((await lastOf('batch.cancel', send.id)).details).toMatchObject({ from: 'PAUSED', to: 'CANCELLED' });
	});

	it('leaves no entry for a change that failed validation, was refused or rolled back', async () => {
		const before = await count();
		// Refused by the input schema: nothing ran.
		await expect(op.call.batch.tags({ filter: { tags: ['audit'] }, operation: 'sideways', tags: ['x'] } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		// Refused inside the transaction after the batch row was written: all of it rolls back, the entry with it.
		await expect(op.call.batch.send({ filter: { tags: ['nobody-has-this'] }, content: 'Hi' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(op.call.contacts.update({ id: 987654321, optedOut: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
		await expect(op.call.batch.cancel({ batchId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
		const done = await op.call.batch.send({ contactIds: [await contact('Z')], content: 'Hi', scheduleAt: new Date(Date.now() + 3_600_000) });
		const afterSend = await count();
		expect(afterSend).toBe(before + 1);
		// A transition the table refuses (PENDING cannot pause), and a retry with nothing to retry: refused in their transactions.
		await expect(op.call.batch.pause({ batchId: done.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		await expect(op.call.batch.retryFailed({ batchId: done.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		// Viewers are refused before anything runs.
		const viewer = await userCaller('viewer');
		await expect(caller({ user: viewer.user, ip: IP }).batch.delete({ contactIds: [1] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
		expect(await count()).toBe(afterSend);
		const [batches] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where input::text like '%nobody-has-this%'`;
		expect(batches.n).toBe(0);
	});
});

describe('the log itself', () => {
	it('is append-only: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
		await expect(sql()`update audit_log set action = 'forged'`).rejects.toThrow(/append-only/);
		await expect(sql()`delete from audit_log`).rejects.toThrow(/append-only/);
		await expect(sql()`truncate audit_log`).rejects.toThrow(/append-only/);
		const [r] = await sql()<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'forged'`;
		expect(r.n).toBe(0);
		// No procedure edits or deletes an entry: the audit router only reads.
		expect(Object.keys(appRouter._def.procedures).filter((k) => k.startsWith('audit.')).sort()).toEqual(['audit.actions', 'audit.list']);
	});

	it('audit.list filters by action, actor and time, pages with a total, and refuses operators and viewers', async () => {
		// A fresh operator, so the counts are this test's alone.
		const fresh = await userCaller('operator');
		const op2 = caller({ user: fresh.user, ip: IP });
		const t0 = new Date(Date.now() - 1000);
		const id = await contact('Filter');
		await op2.contacts.update({ id, name: 'F1' });
		await op2.contacts.update({ id, name: 'F2' });
		await admin.call.contacts.update({ id, name: 'F3' });

		const mine = await admin.call.audit.list({ action: 'contacts.update', actorId: fresh.user.id, from: t0, limit: 1 });
		expect(mine.total).toBe(2);
		expect(mine.items).toHaveLength(1);
		// Newest first.
		expect(mine.items[0].details).toMatchObject({ after: { name: 'F2' } });
		const page2 = await admin.call.audit.list({ action: 'contacts.update', actorId: fresh.user.id, limit: 1, offset: 1 });
		expect(page2.items[0].details).toMatchObject({ after: { name: 'F1' } });
		expect((await admin.call.audit.list({ actorId: admin.user.id, action: 'contacts.update', from: t0 })).total).toBe(1);
		expect((await admin.call.audit.list({ action: 'contacts.update', to: t0 })).items.every((e) => e.at < t0)).toBe(true);
		expect((await admin.call.audit.list({ action: 'contacts.update', from: new Date(Date.now() + 60_000) })).total).toBe(0);
		expect(await admin.call.audit.actions()).toEqual(expect.arrayContaining(['contacts.update', 'batch.send', 'auth.login']));

		await expect(admin.call.audit.list({ from: new Date(), to: t0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(op.call.audit.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(script.call.audit.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
		const viewer = await userCaller('viewer');
		await expect(caller({ user: viewer.user, ip: IP }).audit.list({})).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(caller({ ip: IP }).audit.list({})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
	});

	it('exports the filtered log as CSV to admins only', async () => {
		const id = await contact('Csv');
		// A token whose name a spreadsheet would run as a formula.
		const t = await createApiToken(op.user.id, '=SUM(1)');
		const viaFormula = await resolveAuth({ bearer: t.token });
		await caller({ user: viaFormula.user, ip: IP }).contacts.update({ id, name: 'Csv 2' });
		const url = `http://batchdesk.test/api/audit.csv?action=contacts.update&actorId=${op.user.id}`;
		const res = await auditCsvRoute(fakeEvent(url, admin.user) as never);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
		expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="audit-.*\.csv"/);
		const text = (await res.text()).replace(/^\uFEFF/, '');
		const lines = text.trim().split('\r\n');
		expect(lines[0]).toBe('at,actor_id,actor_email,token_id,token_name,action,target_type,target_id,ip,details');
		const listed = await admin.call.audit.list({ action: 'contacts.update', actorId: op.user.id, limit: 500 });
		expect(lines).toHaveLength(1 + listed.total);
		expect(lines.slice(1).every((l) => l.includes(',contacts.update,contact,'))).toBe(true);
		// Newest first; the formula-like name escaped with a leading apostrophe.
		expect(lines[1]).toContain(`,${op.user.id},${op.user.email},${t.id},'=SUM(1),contacts.update,contact,${id},${IP},`);
		expect(lines.slice(1).some((l) => /(^|,)=/.test(l))).toBe(false);

		expect((await auditCsvRoute(fakeEvent(url, op.user) as never)).status).toBe(403);
		expect((await auditCsvRoute(fakeEvent(url, null) as never)).status).toBe(401);
		expect((await auditCsvRoute(fakeEvent('http://batchdesk.test/api/audit.csv?actorId=x', admin.user) as never)).status).toBe(400);
	});
});
