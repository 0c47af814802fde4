/**
 * batch.delete: contacts go, past batch ledgers stay readable (items keep their
 * phone/name snapshot), and every deleted row is archived whole for a later restore.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { startWorker, type WorkerHandle } from '../worker/index';
import { userCaller, waitFor } from './helpers';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 2 });
});
afterAll(async () => {
	await worker.stop();
});

let seq = 0;
async function contact(name: string, tags: string[]) {
	const phone = `+4477${String(++seq).padStart(8, '0')}`;
	const [row] = await sql()<{ id: string }[]>`
		insert into contacts (phone_e164, name, tags, attributes, source)
		values (${phone}, ${name}, ${tags}, ${JSON.stringify({ city: 'Leeds' })}::jsonb, 'test') returning id`;
	return { id: Number(row.id), phone };
}

async function finished(call: Awaited<ReturnType<typeof userCaller>>['call'], batchId: string) {
	return waitFor(async () => {
		const s = await call.batch.status({ batchId });
		return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status) ? s : null;
	});
}

describe('batch.delete', () => {
	it('deletes contacts that appear in past batches, keeping those ledgers and an archive', async () => {
		const { call, user } = await userCaller('operator');
		const ann = await contact('Ann', ['del-me']);
		const bob = await contact('Bob', ['del-me']);
		const kept = await contact('Kim', ['stay']);
		// A past SEND batch that reached Ann and Bob.
		const [past] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, total_count, processed_count, success_count, created_by)
			values ('SEND', 'COMPLETED', 2, 2, 2, ${user.id}) returning id`;
		await sql()`insert into batch_items (batch_id, contact_id, phone, name, status)
			values (${past.id}, ${ann.id}, ${ann.phone}, 'Ann', 'sent'), (${past.id}, ${bob.id}, ${bob.phone}, 'Bob', 'sent')`;

		const batch = await call.batch.delete({ filter: { tags: ['del-me'] } });
		expect(batch).toMatchObject({ type: 'DELETE', status: 'PENDING' });
		expect(await finished(call, batch.id)).toMatchObject({
			status: 'COMPLETED',
			totalCount: 2,
			processedCount: 2,
			successCount: 2,
			progress: 100
		});

		const left = await sql()<{ id: string }[]>`select id from contacts where id = any(${[ann.id, bob.id, kept.id]}::bigint[])`;
		expect(left.map((r) => Number(r.id))).toEqual([kept.id]);

		// The past batch still reads in full, with the recipients' snapshot.
		const old = await call.batch.get({ batchId: past.id });
		expect(old.items.byStatus).toEqual({ sent: 2 });
		const items = await sql()<{ phone: string; name: string }[]>`select phone, name from batch_items where batch_id = ${past.id} order by name`;
		expect(items).toEqual([
			{ phone: ann.phone, name: 'Ann' },
			{ phone: bob.phone, name: 'Bob' }
		]);

		// Everything needed to restore them is archived under the delete batch.
		const archived = await sql()<{ contact_id: string; phone_e164: string; name: string; tags: string[]; attributes: unknown; source: string }[]>`
			select contact_id, phone_e164, name, tags, attributes, source from deleted_contacts where batch_id = ${batch.id} order by contact_id`;
		expect(archived).toEqual([
			{ contact_id: String(ann.id), phone_e164: ann.phone, name: 'Ann', tags: ['del-me'], attributes: { city: 'Leeds' }, source: 'test' },
			{ contact_id: String(bob.id), phone_e164: bob.phone, name: 'Bob', tags: ['del-me'], attributes: { city: 'Leeds' }, source: 'test' }
		]);
	});

	it('deletes by id list; ids already gone are counted as skipped', async () => {
		const { call } = await userCaller('operator');
		const a = await contact('A', []);
		const b = await contact('B', []);
		const batch = await call.batch.delete({ contactIds: [a.id, b.id, 99999999] });
		expect(await finished(call, batch.id)).toMatchObject({ status: 'COMPLETED', totalCount: 3, successCount: 2, skippedCount: 1 });
		const again = await call.batch.delete({ contactIds: [a.id] });
		expect(await finished(call, again.id)).toMatchObject({ status: 'COMPLETED', successCount: 0, skippedCount: 1 });
	});

	it('refuses a filter without criteria and a missing target, writing nothing', async () => {
		const { call } = await userCaller('admin');
		const [{ n: before }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
		for (const input of [{}, { filter: {} }, { contactIds: [] }, { filter: { search: 'x'.repeat(201) } }]) {
			const e = await call.batch.delete(input as never).then(
				() => null,
				(err) => err
			);
			expect(e).toBeInstanceOf(TRPCError);
			expect((e as TRPCError).code).toBe('BAD_REQUEST');
		}
		const [{ n: after }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
		expect(after).toBe(before);
	});
});
