/**
 * batch.undo of a DELETE: the archived contacts come back whole (same ids, tags,
 * attributes, opt-out); a phone taken again by another contact is refused and listed;
 * a cancel mid-undo stops it between chunks.
 */
import { describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { useWorker } from './worker-helpers';
import { userCaller, waitFor } from './helpers';
import { contactsByPhone, finished, undoItems } from './undo-helpers';

// Small chunks, so the cancel test can catch an undo between two of them.
useWorker({ BULK_CHUNK_SIZE: '100' });

let seq = 0;
const phone = () => `+4478${String(++seq).padStart(8, '0')}`;

describe('batch.undo of a delete', () => {
	it('restores the deleted contacts whole under their ids, with tags, attributes and opt-out', async () => {
		const { call } = await userCaller('operator');
		const ann = phone();
		const bob = phone();
		const [a] = await sql()<{ id: string }[]>`insert into contacts (phone_e164, name, tags, attributes, source, opted_out_at)
			values (${ann}, 'Ann', ${['del-r', 'vip']}, ${JSON.stringify({ city: 'Leeds' })}::jsonb, 'csv', now() - interval '3 days') returning id`;
		const [b] = await sql()<{ id: string }[]>`insert into contacts (phone_e164, name, tags, attributes)
			values (${bob}, 'Bob', ${['del-r']}, ${JSON.stringify({ plan: 'gold' })}::jsonb) returning id`;
		const before = await contactsByPhone([ann, bob]);

		const del = await call.batch.delete({ filter: { tags: ['del-r'] } });
		expect(await finished(call, del.id)).toMatchObject({ status: 'COMPLETED', successCount: 2 });
		expect((await contactsByPhone([ann, bob])).size).toBe(0);

		const undo = await call.batch.undo({ batchId: del.id });
		expect(await finished(call, undo.id)).toMatchObject({ status: 'COMPLETED', totalCount: 2, successCount: 2, failedCount: 0 });
		const now = await contactsByPhone([ann, bob]);
		expect(now.get(ann)).toEqual({ ...before.get(ann), id: Number(a.id) });
		expect(now.get(bob)).toEqual({ ...before.get(bob), id: Number(b.id) });
		expect(now.get(ann)?.optedOut).toBe(true);
		const [src] = await sql()<{ source: string }[]>`select source from contacts where id = ${a.id}`;
		expect(src.source).toBe('csv');
		expect((await call.batch.get({ batchId: del.id })).undoneBy).toBe(undo.id);
	});

	it('refuses a contact whose phone was taken again, and restores the others', async () => {
		const { call } = await userCaller('operator');
		const taken = phone();
		const free = phone();
		await sql()`insert into contacts (phone_e164, name, tags) values (${taken}, 'Old Cy', ${['del-t']}), (${free}, 'Dee', ${['del-t']})`;
		const del = await call.batch.delete({ filter: { tags: ['del-t'] } });
		expect(await finished(call, del.id)).toMatchObject({ status: 'COMPLETED' });
		// The phone comes back in a later import, as a new contact.
		const imp = await call.batch.import({ contacts: [{ phoneE164: taken, name: 'New Cy' }] });
		expect(await finished(call, imp.id)).toMatchObject({ status: 'COMPLETED' });
		const newCy = (await contactsByPhone([taken])).get(taken)!;

		const undo = await call.batch.undo({ batchId: del.id });
		expect(await finished(call, undo.id)).toMatchObject({ status: 'COMPLETED', totalCount: 2, successCount: 1, failedCount: 1 });
		const now = await contactsByPhone([taken, free]);
		expect(now.get(taken)).toMatchObject({ id: newCy.id, name: 'New Cy' });
		expect(now.get(free)?.name).toBe('Dee');
		const items = await undoItems(call, undo.id);
		expect(items).toEqual([
			expect.objectContaining({ phone: taken, status: 'failed', errorCode: 'phone_taken', errorMessage: `Phone ${taken} now belongs to contact ${newCy.id}: not restored.` })
		]);
	});

	it('stops between chunks when cancelled: what was restored stays, the rest stays archived', async () => {
		const { call } = await userCaller('operator');
		const n = 20_000;
		await sql()`insert into contacts (phone_e164, name, tags)
			select '+4476' || lpad(g::text, 8, '0'), 'C' || g, array['del-c'] from generate_series(1, ${n}) g`;
		const del = await call.batch.delete({ filter: { tags: ['del-c'] } });
		expect(await finished(call, del.id, 60_000)).toMatchObject({ status: 'COMPLETED', successCount: n });

		const undo = await call.batch.undo({ batchId: del.id });
		await waitFor(async () => (await call.batch.status({ batchId: undo.id })).processedCount > 0, 30_000, 5);
		await call.batch.cancel({ batchId: undo.id });
		const end = await finished(call, undo.id);
		expect(end.status).toBe('CANCELLED');
		expect(end.processedCount).toBeGreaterThan(0);
		expect(end.processedCount).toBeLessThan(n);
		// Nothing moves after the cancel: the restored contacts are exactly the counted ones.
		await new Promise((r) => setTimeout(r, 500));
		const [r] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where 'del-c' = any(tags)`;
		const last = await call.batch.status({ batchId: undo.id });
		expect(last.processedCount).toBe(end.processedCount);
		expect(r.n).toBe(end.successCount);
		// A cancelled undo still counts as the batch's undo: it is not undone twice.
		await expect(call.batch.undo({ batchId: del.id })).rejects.toMatchObject({ code: 'CONFLICT' });
	});
});
