/**
 * The 8-character ids the pages show resolve through the API (a unique prefix → the
 * batch, an ambiguous one → a clear error), and a new SEND batch — a scheduled one
 * too — is announced live at its creation.
 */
import { describe, expect, it } from 'vitest';
import { userCaller, waitFor } from './helpers';
import { sql } from '../src/lib/server/db/client';
import { seedContacts } from './send-helpers';
import { batchUpdates } from '../src/lib/server/events/live';

async function batchWithId(id: string) {
	await sql()`insert into batch_operations (id, type, status) values (${id}, 'TAG', 'COMPLETED')`;
}

describe('short batch ids', () => {
	it('resolve a unique prefix, refuse an ambiguous or unknown one with a clear error', async () => {
		const { call } = await userCaller('viewer');
		await batchWithId('95ff6fd0-0000-4000-8000-000000000001');
		await batchWithId('95ff6fd1-0000-4000-8000-000000000001');
		await batchWithId('95ff6fd1-0000-4000-8000-000000000002');

		expect((await call.batch.get({ batchId: '95ff6fd0' })).id).toBe('95ff6fd0-0000-4000-8000-000000000001');
		expect((await call.batch.status({ batchId: '95FF6FD0' })).id).toBe('95ff6fd0-0000-4000-8000-000000000001');
		expect(await call.batch.resolve({ batchId: '95ff6fd1-0000-4000-8000-000000000002' })).toEqual({ id: '95ff6fd1-0000-4000-8000-000000000002' });
		expect(await call.batch.resolve({ batchId: '95ff6fd0-00' })).toEqual({ id: '95ff6fd0-0000-4000-8000-000000000001' });

		await expect(call.batch.get({ batchId: '95ff6fd1' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/Several batches .*95ff6fd1.*more characters/) });
		await expect(call.batch.get({ batchId: '95ff6fd2' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/No batch id starts with 95ff6fd2/) });
		await expect(call.batch.get({ batchId: 'zz' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/not a batch id/) });
	});
});

describe('a new SEND batch', () => {
	it('is announced live at its creation, scheduled ones included', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(2, { prefix: '+1885' });
		const ac = new AbortController();
		const seen: { id: string; status: string }[] = [];
		let snapshotDone = false;
		const reading = (async () => {
			for await (const ev of batchUpdates({ signal: ac.signal })) {
				// A tracked() envelope: [id, event].
				const d = (ev as unknown as [string, { data: { id: string; status: string } }])[1].data;
				seen.push({ id: d.id, status: d.status });
			}
		})();
		// The snapshot (active batches) comes first; wait until it has been read.
		await new Promise((r) => setTimeout(r, 300));
		snapshotDone = true;
		const before = seen.length;
		const b = await call.batch.send({ contactIds: ids, content: 'later', scheduleAt: new Date(Date.now() + 3_600_000) });
		await waitFor(() => seen.slice(before).some((e) => e.id === b.id && e.status === 'PENDING'), 10_000);
		expect(snapshotDone).toBe(true);
		ac.abort();
		await reading;
	});
});
