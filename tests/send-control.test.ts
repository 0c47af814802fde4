import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, userCaller, waitFor } from './helpers';
import { batchRow, createChannel, itemCounts, outboxStats, seedContacts } from './send-helpers';
import { startFakeProvider } from './fake-provider';
import { startWorker, type WorkerHandle } from '../worker/index';
import { sql } from '../src/lib/server/db/client';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 6 });
});
afterAll(async () => {
	await worker?.stop();
});

const dbNow = async () => (await sql()<{ t: string }[]>`select clock_timestamp()::text as t`)[0].t;

describe('cancel, pause, resume', () => {
	it('cancel racing running slices: no send starts after the cancel commits, the rest is cancelled', async () => {
		const { call } = await userCaller('operator');
		// A slow sandbox (simulated latency per slice) so the cancel lands mid-run.
		await createChannel('slowbox', 'sandbox', { latencyMs: 1000 }, 100_000);
		const ids = await seedContacts(30_000, { prefix: '+1901' });
		const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'slowbox' });
		await waitFor(async () => (await batchRow(res.id)).success_count > 0, 20_000, 5);
		const cancelled = await call.batch.cancel({ batchId: res.id });
		const after = await dbNow();
		expect(cancelled.status).toBe('CANCELLED');
		const countAtCancel = (await outboxStats(res.id)).rows;
		await sleep(500);
		const [late] = await sql()<{ n: number }[]>`select count(*)::int as n from outbox where batch_id = ${res.id} and created_at > ${after}::timestamptz`;
		expect(late.n).toBe(0);
		expect((await outboxStats(res.id)).rows).toBe(countAtCancel);
		const items = await itemCounts(res.id);
		expect(items.sent).toBe(countAtCancel);
		expect(items.sent + (items.cancelled ?? 0)).toBe(30_000);
		expect(items.sent).toBeLessThan(30_000);
		const b = await batchRow(res.id);
		expect(b).toMatchObject({ status: 'CANCELLED', success_count: countAtCancel, processed_count: countAtCancel });
		await expect(call.batch.cancel({ batchId: res.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		await expect(call.batch.resume({ batchId: res.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
	});

	it('cancels a scheduled batch before it starts: nothing is sent', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(10, { prefix: '+1902' });
		const res = await call.batch.send({ contactIds: ids, content: 'x', scheduleAt: new Date(Date.now() + 1500) });
		await call.batch.cancel({ batchId: res.id });
		await sleep(2500);
		expect(await itemCounts(res.id)).toEqual({ cancelled: 10 });
		expect((await outboxStats(res.id)).rows).toBe(0);
		expect((await batchRow(res.id)).status).toBe('CANCELLED');
	});

	it('pause stops new sends; resume sends only pending items, nobody twice', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 5 }));
		try {
			// A cap of 200/s keeps the run about 2 s long, so the pause lands mid-way (the
			// HTTP window sends 400 recipients at 5 ms in well under 100 ms uncapped).
			await createChannel('hookp', 'webhook', { url: fake.url }, 200);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(400, { prefix: '+1903' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hookp' });
			await waitFor(() => fake.requests.length >= 30, 20_000, 5);
			const paused = await call.batch.pause({ batchId: res.id });
			expect(paused.status).toBe('PAUSED');
			// In-flight requests finish; then nothing more arrives while paused.
			await waitFor(async () => !(await itemCounts(res.id)).sending, 10_000);
			const atPause = fake.requests.length;
			await sleep(600);
			expect(fake.requests.length).toBe(atPause);
			const mid = await itemCounts(res.id);
			expect(mid.sent).toBe(atPause);
			expect(mid.pending).toBe(400 - atPause);

			const resumed = await call.batch.resume({ batchId: res.id });
			expect(resumed.status).toBe('PROCESSING');
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 20_000);
			expect(await itemCounts(res.id)).toEqual({ sent: 400 });
			const keys = fake.requests.map((r) => r.idempotencyKey);
			expect(keys.length).toBe(400);
			expect(new Set(keys).size).toBe(400);
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 400, success_count: 400 });
		} finally {
			await fake.close();
		}
	});
});

describe('pacing and scheduling', () => {
	it('paced sends are at least 60000 / ratePerMinute ms apart (recorded timestamps) and a scheduled start is never early', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(25, { prefix: '+1904' });
		const scheduleAt = new Date(Date.now() + 1200);
		const res = await call.batch.send({ contactIds: ids, content: 'x', ratePerMinute: 1200, jitterMs: 20, scheduleAt });
		await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 20_000);
		const rows = await sql()<{ ms: number }[]>`
			select (extract(epoch from created_at) * 1000)::float8 as ms from outbox where batch_id = ${res.id} order by created_at`;
		expect(rows.length).toBe(25);
		const [b] = await sql()<{ early: boolean; started_early: boolean }[]>`
			select (select min(created_at) from outbox where batch_id = ${res.id}) < scheduled_at as early, started_at < scheduled_at as started_early
			from batch_operations where id = ${res.id}`;
		expect(b).toEqual({ early: false, started_early: false });
		const gaps = rows.slice(1).map((r, i) => r.ms - rows[i].ms);
		expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50 - 0.001);
	});
});
