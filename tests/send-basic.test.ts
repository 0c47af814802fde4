import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userCaller, waitFor } from './helpers';
import { batchRow, itemCounts, outboxStats, seedContacts } from './send-helpers';
import { startWorker, type WorkerHandle } from '../worker/index';
import { sql } from '../src/lib/server/db/client';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 4 });
});
afterAll(async () => {
	await worker?.stop();
});

describe('batch.send to the sandbox', () => {
	it('sends every recipient once, skips opted-out and missing contacts, and the counts agree with the ledger', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(2500, { prefix: '+1666', optedOut: [0, 1] });
		const res = await call.batch.send({ contactIds: [...ids, 999_999_999], content: 'Hi {{name}} from {{city|nowhere}}' });
		expect(res.status).toBe('PENDING');
		expect(res.totalCount).toBe(2501);
		expect(res.skippedCount).toBe(3);
		await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 20_000);
		const b = await batchRow(res.id);
		expect(b).toMatchObject({ total_count: 2501, processed_count: 2501, success_count: 2498, failed_count: 0, skipped_count: 3 });
		expect(await itemCounts(res.id)).toEqual({ sent: 2498, skipped: 3 });
		expect(await outboxStats(res.id)).toEqual({ rows: 2498, distinct_items: 2498 });
		const [one] = await sql()<{ body: string }[]>`select body from outbox where batch_id = ${res.id} order by item_id limit 1`;
		expect(one.body).toBe('Hi Name 3 from City 3');
		const skipped = await call.batch.items({ batchId: res.id, status: 'skipped' });
		expect(skipped.items.map((i) => i.errorCode).sort()).toEqual(['contact_missing', 'opted_out', 'opted_out']);
	});
});
