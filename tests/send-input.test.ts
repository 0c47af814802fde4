import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { userCaller } from './helpers';
import { seedContacts } from './send-helpers';
import { sql } from '../src/lib/server/db/client';

async function counts() {
	const [r] = await sql()<{ b: number; i: number; j: number }[]>`
		select (select count(*)::int from batch_operations) as b, (select count(*)::int from batch_items) as i,
			(select count(*)::int from graphile_worker.jobs where task_identifier = 'send:slice') as j`;
	return r;
}

async function rejects(p: Promise<unknown>, code: string, field: string) {
	const err = await p.then(
		() => null,
		(e) => e as TRPCError
	);
	expect(err, `expected ${code} on ${field}`).toBeInstanceOf(TRPCError);
	expect(err!.code).toBe(code);
	const cause = err!.cause as { field?: string; issues?: { path: (string | number)[] }[] } | undefined;
	const fields = cause?.issues ? cause.issues.map((i) => String(i.path[0])) : [cause?.field];
	expect(fields).toContain(field);
}

describe('batch.send input', () => {
	it('refuses bad input with a typed error naming the field, and writes nothing', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(3, { prefix: '+1777' });
		const before = await counts();
		await rejects(call.batch.send({ contactIds: ids, content: 'a', templateId: 1 }), 'BAD_REQUEST', 'templateId');
		await rejects(call.batch.send({ contactIds: ids }), 'BAD_REQUEST', 'content');
		await rejects(call.batch.send({ contactIds: ids, templateId: 987654 }), 'NOT_FOUND', 'templateId');
		await rejects(call.batch.send({ contactIds: ids, content: 'x', channelId: 'nope' }), 'NOT_FOUND', 'channelId');
		await rejects(call.batch.send({ contactIds: [], content: 'x' }), 'BAD_REQUEST', 'contactIds');
		await rejects(call.batch.send({ content: 'x' }), 'BAD_REQUEST', 'contactIds');
		await rejects(call.batch.send({ contactIds: ids, content: 'x', ratePerMinute: 0 }), 'BAD_REQUEST', 'ratePerMinute');
		await rejects(call.batch.send({ contactIds: ids, content: 'x', ratePerMinute: -5 }), 'BAD_REQUEST', 'ratePerMinute');
		await rejects(call.batch.send({ contactIds: ids, content: 'x', scheduleAt: new Date(Date.now() - 60_000) }), 'BAD_REQUEST', 'scheduleAt');
		await rejects(
			call.batch.send({ contactIds: ids, content: 'x', scheduleAt: 'next tuesday' as unknown as Date }),
			'BAD_REQUEST',
			'scheduleAt'
		);
		await rejects(call.batch.send({ filter: { search: 'nobody-matches-this' }, content: 'x' }), 'BAD_REQUEST', 'filter');
		expect(await counts()).toEqual(before);
	});

	it('viewers cannot send', async () => {
		const { call } = await userCaller('viewer');
		await expect(call.batch.send({ contactIds: [1], content: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
	});

	it('an idempotency key returns the same batch for the same input and a conflict for another', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(5, { prefix: '+1778' });
		const scheduleAt = new Date(Date.now() + 3_600_000);
		const a = await call.batch.send({ contactIds: ids, content: 'Hello', scheduleAt, idempotencyKey: 'k-1' });
		const b = await call.batch.send({ contactIds: ids, content: 'Hello', scheduleAt, idempotencyKey: 'k-1' });
		expect(b.id).toBe(a.id);
		expect(b.deduplicated).toBe(true);
		await rejects(call.batch.send({ contactIds: ids, content: 'Other', scheduleAt, idempotencyKey: 'k-1' }), 'CONFLICT', 'idempotencyKey');
		const [n] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${a.id}`;
		expect(n.n).toBe(5);
		// Another user's identical key is theirs alone.
		const other = await userCaller('operator');
		const c = await other.call.batch.send({ contactIds: ids, content: 'Hello', scheduleAt, idempotencyKey: 'k-1' });
		expect(c.id).not.toBe(a.id);
	});

	it('sends to a tag filter and renders a saved template; the preview counts missing variables', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(4, { prefix: '+1779', tags: ['vip-prev'] });
		await sql()`update contacts set attributes = '{}'::jsonb where id = ${ids[0]}`;
		const t = await call.templates.create({ name: 'greet-prev', body: 'Hi {{name|there}}, {{city}}!' });
		const preview = await call.templates.preview({ templateId: t.id, filter: { tags: ['vip-prev'] }, sample: 2 });
		expect(preview.recipients).toBe(4);
		expect(preview.missingCount).toBe(1);
		expect(preview.samples[0]).toMatchObject({ text: 'Hi Name 1, !', missing: ['city'] });
		const res = await call.batch.send({ filter: { tags: ['vip-prev'] }, templateId: t.id, scheduleAt: new Date(Date.now() + 3_600_000) });
		expect(res.totalCount).toBe(4);
		await expect(call.templates.create({ name: 'greet-prev', body: 'x' })).rejects.toMatchObject({ code: 'CONFLICT' });
	});

	it('previews a body for picked contact ids', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(3, { prefix: '+1776' });
		const preview = await call.templates.preview({ body: 'Hello {{name}}', contactIds: ids.slice(0, 2), sample: 5 });
		expect(preview.recipients).toBe(2);
		expect(preview.samples.map((s: { text: string }) => s.text)).toEqual(['Hello Name 1', 'Hello Name 2']);
	});

	it('channels: admins manage them, nobody gets a secret back', async () => {
		const admin = await userCaller('admin');
		const op = await userCaller('operator');
		const created = await admin.call.channels.create({
			id: 'hook-sec',
			name: 'Hook',
			kind: 'webhook',
			config: { url: 'http://127.0.0.1:9/x', secret: 's3cret' },
			ratePerSecond: 50
		});
		expect(JSON.stringify(created)).not.toContain('s3cret');
		expect(created.secretsSet).toEqual(['secret']);
		const listed = await op.call.channels.list();
		expect(JSON.stringify(listed)).not.toContain('s3cret');
		// A patch leaving the secret out keeps it (a new url would need it again: tests/channels.test.ts).
		await admin.call.channels.update({ id: 'hook-sec', config: { timeoutMs: 2000 } });
		const [row] = await sql()<{ config: { secret: string; url: string } }[]>`select config from channels where id = 'hook-sec'`;
		expect(row.config).toEqual({ url: 'http://127.0.0.1:9/x', secret: 's3cret', timeoutMs: 2000 });
		await expect(op.call.channels.create({ id: 'x', name: 'x', kind: 'sandbox' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(admin.call.channels.create({ id: 'tw', name: 'tw', kind: 'twilio', config: {} })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
		await expect(admin.call.channels.delete({ id: 'sandbox' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
	});
});
