/**
 * Double submits (issue 11): batch.send, batch.import, batch.tags and batch.delete take
 * an idempotencyKey; the same key with the same input returns the same batch (also when
 * the requests race), another input under the key is a CONFLICT naming the field.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { userCaller } from './helpers';
import { seedContacts } from './send-helpers';

async function batchesOf(type: string) {
	const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = ${type}`;
	return n;
}

describe('idempotency keys', () => {
	it('50 concurrent identical sends with one key create one batch; another body under the key is a CONFLICT', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(20, { prefix: '+1931' });
		const before = await batchesOf('SEND');
		const input = { contactIds: ids, content: 'Hello', idempotencyKey: 'send-form-1' };
		const results = await Promise.all(Array.from({ length: 50 }, () => call.batch.send(input)));
		expect(new Set(results.map((r) => r.id)).size).toBe(1);
		expect(results.filter((r) => !r.deduplicated).length).toBe(1);
		expect(await batchesOf('SEND')).toBe(before + 1);
		const err = await call.batch.send({ ...input, content: 'Hello again' }).catch((e) => e);
		expect(err).toBeInstanceOf(TRPCError);
		expect(err.code).toBe('CONFLICT');
		expect(await batchesOf('SEND')).toBe(before + 1);
	});

	it('batch.import: the same key returns the same batch, even at once; another list is a CONFLICT', async () => {
		const { call } = await userCaller('operator');
		const before = await batchesOf('IMPORT');
		const input = { contacts: [{ phoneE164: '+14155550100', name: 'Ann' }], idempotencyKey: 'import-form-1' };
		const results = await Promise.all(Array.from({ length: 10 }, () => call.batch.import(input)));
		expect(new Set(results.map((r) => r.id)).size).toBe(1);
		expect(await batchesOf('IMPORT')).toBe(before + 1);
		const err = await call.batch.import({ ...input, contacts: [{ phoneE164: '+14155550101' }] }).catch((e) => e);
		expect(err.code).toBe('CONFLICT');
		expect(await batchesOf('IMPORT')).toBe(before + 1);
		// Without a key every call is a new batch, as before.
		await call.batch.import({ contacts: input.contacts });
		expect(await batchesOf('IMPORT')).toBe(before + 2);
	});

	it('batch.tags and batch.delete: the same key returns the same batch (ids in another order are the same request); another input is a CONFLICT', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(5, { prefix: '+1932' });
		const tagsBefore = await batchesOf('TAG');
		const tags = { contactIds: ids, tags: ['vip'], operation: 'add' as const, idempotencyKey: 'tags-form-1' };
		const [a, b] = await Promise.all([call.batch.tags(tags), call.batch.tags({ ...tags, contactIds: [...ids].reverse() })]);
		expect(a.id).toBe(b.id);
		expect(await batchesOf('TAG')).toBe(tagsBefore + 1);
		expect((await call.batch.tags({ ...tags, operation: 'remove' }).catch((e) => e)).code).toBe('CONFLICT');

		const delBefore = await batchesOf('DELETE');
		const del = { filter: { search: '+1932' }, idempotencyKey: 'delete-form-1' };
		const [c, d] = await Promise.all([call.batch.delete(del), call.batch.delete(del)]);
		expect(c.id).toBe(d.id);
		expect(await batchesOf('DELETE')).toBe(delBefore + 1);
		expect((await call.batch.delete({ ...del, filter: { search: '+1933' } }).catch((e) => e)).code).toBe('CONFLICT');
		// A key belongs to one request of any kind: a tag key reused for a delete is a conflict too.
		expect((await call.batch.delete({ contactIds: ids, idempotencyKey: 'tags-form-1' }).catch((e) => e)).code).toBe('CONFLICT');
		expect(await batchesOf('DELETE')).toBe(delBefore + 1);
	});

	it('keys are per user: another user with the same key gets a batch of their own', async () => {
		const one = await userCaller('operator');
		const two = await userCaller('operator');
		const input = { contacts: [{ phoneE164: '+14155550199' }], idempotencyKey: 'shared-key' };
		const a = await one.call.batch.import(input);
		const b = await two.call.batch.import(input);
		expect(a.id).not.toBe(b.id);
	});
});
