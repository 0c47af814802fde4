/**
 * batch.tags end to end: the router creates the batch and its job in one transaction,
 * the real worker runs it in chunks, and contacts end with the tags a user expects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { startWorker, type WorkerHandle } from '../worker/index';
import { runBulkBatch } from '../src/lib/server/bulk/run';
import { transitionBatch } from '../src/lib/server/batches/repository';
import { enqueue } from '../src/lib/server/jobs/enqueue';
import { userCaller, waitFor } from './helpers';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 2 });
});
afterAll(async () => {
	await worker.stop();
});

let seq = 0;
async function contact(tags: string[], name = 'c') {
	const phone = `+1555${String(++seq).padStart(7, '0')}`;
	const [row] = await sql()<{ id: string }[]>`insert into contacts (phone_e164, name, tags) values (${phone}, ${name}, ${tags}) returning id`;
	return Number(row.id);
}
async function tagsOf(id: number) {
	const [row] = await sql()<{ tags: string[] }[]>`select tags from contacts where id = ${id}`;
	return row.tags;
}
async function finished(call: Awaited<ReturnType<typeof userCaller>>['call'], batchId: string) {
	return waitFor(async () => {
		const s = await call.batch.status({ batchId });
		return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status) ? s : null;
	});
}
async function expectError(p: Promise<unknown>, code: string) {
	const e = await p.then(
		() => null,
		(err) => err
	);
	expect(e).toBeInstanceOf(TRPCError);
	expect((e as TRPCError).code).toBe(code);
	return e as TRPCError;
}

describe('batch.tags', () => {
	it('add never duplicates, trims and de-duplicates the input, and counts no-ops as skipped', async () => {
		const { call } = await userCaller('operator');
		const a = await contact(['a']);
		const b = await contact(['b']);
		const ac = await contact(['a', 'c']);
		const batch = await call.batch.tags({ contactIds: [a, b, ac, String(b) as unknown as number], tags: [' a ', 'c', 'c'], operation: 'add' });
		expect(batch).toMatchObject({ type: 'TAG', status: 'PENDING', totalCount: 3 });
		expect(batch.input).toMatchObject({ operation: 'add', tags: ['a', 'c'] });
		const done = await finished(call, batch.id);
		expect(done).toMatchObject({ status: 'COMPLETED', processedCount: 3, successCount: 2, skippedCount: 1, failedCount: 0, progress: 100 });
		expect(await tagsOf(a)).toEqual(['a', 'c']);
		expect(await tagsOf(b)).toEqual(['b', 'a', 'c']);
		expect(await tagsOf(ac)).toEqual(['a', 'c']);
	});

	it('remove of an absent tag is a no-op; set replaces the whole list', async () => {
		const { call } = await userCaller('operator');
		const x = await contact(['keep', 'drop']);
		const y = await contact(['keep']);
		const r = await call.batch.tags({ contactIds: [x, y], tags: ['drop'], operation: 'remove' });
		expect(await finished(call, r.id)).toMatchObject({ status: 'COMPLETED', successCount: 1, skippedCount: 1 });
		expect(await tagsOf(x)).toEqual(['keep']);
		expect(await tagsOf(y)).toEqual(['keep']);

		const s = await call.batch.tags({ contactIds: [x, y], tags: ['new', 'other'], operation: 'set' });
		expect(await finished(call, s.id)).toMatchObject({ status: 'COMPLETED', successCount: 2 });
		expect(await tagsOf(x)).toEqual(['new', 'other']);
		expect(await tagsOf(y)).toEqual(['new', 'other']);
	});

	it('targets a filter (tags) without sending ids, and counts missing ids as skipped', async () => {
		const { call } = await userCaller('operator');
		const ids = [await contact(['flt-vip']), await contact(['flt-vip', 'x']), await contact(['other'])];
		const b = await call.batch.tags({ filter: { tags: ['flt-vip'] }, tags: ['flt-done'], operation: 'add' });
		expect(await finished(call, b.id)).toMatchObject({ status: 'COMPLETED', totalCount: 2, processedCount: 2, successCount: 2 });
		expect(await tagsOf(ids[0])).toContain('flt-done');
		expect(await tagsOf(ids[2])).toEqual(['other']);

		const m = await call.batch.tags({ contactIds: [ids[2], 987654321], tags: ['z'], operation: 'add' });
		expect(await finished(call, m.id)).toMatchObject({ status: 'COMPLETED', totalCount: 2, successCount: 1, skippedCount: 1 });
	});

	it('runs a long id list from batch_targets, keeping only its size in the input', async () => {
		const { call } = await userCaller('operator');
		const rows = await sql()<{ id: string }[]>`insert into contacts (phone_e164, name, tags)
			select '+1666' || lpad(g::text, 7, '0'), 'many', '{}' from generate_series(1, 1500) g returning id`;
		const ids = rows.map((r) => Number(r.id)).reverse(); // unsorted on purpose
		const b = await call.batch.tags({ contactIds: [...ids, ids[0]], tags: ['many-done'], operation: 'add' });
		expect(await finished(call, b.id)).toMatchObject({ status: 'COMPLETED', totalCount: 1500, processedCount: 1500, successCount: 1500 });
		const got = await call.batch.get({ batchId: b.id });
		expect(got.input).toMatchObject({ contactIdsCount: 1500 });
		expect((got.input as { contactIds?: number[] }).contactIds).toBeUndefined();
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where 'many-done' = any(tags)`;
		expect(n).toBe(1500);
	});

	it('stops between chunks once a cancel has committed', async () => {
		const { user } = await userCaller('operator');
		const ids: number[] = [];
		for (let i = 0; i < 300; i++) ids.push(await contact(['cancel-me']));
		// A batch without a job, run here in one-contact chunks while a cancel commits.
		const input = { operation: 'add', tags: ['cancelled-run'], contactIds: ids };
		const [batch] = await sql()<{ id: string }[]>`insert into batch_operations (type, status, input, total_count, created_by)
			values ('TAG', 'PROCESSING', ${JSON.stringify(input)}::jsonb, ${ids.length}, ${user.id}) returning id`;
		const run = runBulkBatch(batch.id, { chunkSize: 1 });
		await waitFor(async () => (await sql()`select 1 from batch_operations where id = ${batch.id} and processed_count >= 5`).length > 0, 15_000, 5);
		await transitionBatch(batch.id, 'CANCELLED');
		expect(await run).toBe('stopped');
		const [b] = await sql()<{ status: string; processed_count: number; success_count: number }[]>`
			select status, processed_count, success_count from batch_operations where id = ${batch.id}`;
		expect(b.status).toBe('CANCELLED');
		expect(b.processed_count).toBeLessThan(300);
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where 'cancelled-run' = any(tags)`;
		// Exactly the chunks counted before the cancel were applied, nothing after.
		expect(n).toBe(b.success_count);
	});

	it('waits while paused and continues once resumed', async () => {
		const { user } = await userCaller('operator');
		const ids = [await contact(['p']), await contact(['p'])];
		const input = { operation: 'add', tags: ['resumed'], contactIds: ids };
		const [batch] = await sql()<{ id: string }[]>`insert into batch_operations (type, status, input, total_count, created_by)
			values ('TAG', 'PAUSED', ${JSON.stringify(input)}::jsonb, 2, ${user.id}) returning id`;
		await enqueue('bulk:run', { batchId: batch.id });
		// The worker looked, found it paused, and left a job to look again later.
		await waitFor(async () => (await sql()`select 1 from graphile_worker.jobs where key = ${`bulk:${batch.id}`}`).length > 0);
		expect(await tagsOf(ids[0])).toEqual(['p']);
		await transitionBatch(batch.id, 'PROCESSING', { from: ['PAUSED'] });
		const { call } = await userCaller('viewer');
		expect(await finished(call, batch.id)).toMatchObject({ status: 'COMPLETED', successCount: 2 });
		expect(await tagsOf(ids[1])).toEqual(['p', 'resumed']);
	});

	it('refuses bad input with typed errors and writes nothing', async () => {
		const { call } = await userCaller('operator');
		const id = await contact([]);
		const before = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
		const jobsBefore = await sql()<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
		const bad: unknown[] = [
			{ contactIds: [id], tags: ['a'], operation: 'toggle' },
			{ contactIds: [id], tags: [], operation: 'add' },
			{ contactIds: [id], tags: ['  '], operation: 'add' },
			{ contactIds: [id], tags: ['x'.repeat(65)], operation: 'add' },
			{ tags: ['a'], operation: 'add' },
			{ contactIds: [id], filter: { all: true }, tags: ['a'], operation: 'add' },
			{ filter: {}, tags: ['a'], operation: 'add' },
			{ contactIds: ['abc'], tags: ['a'], operation: 'add' }
		];
		for (const input of bad) {
			const e = await expectError(call.batch.tags(input as never), 'BAD_REQUEST');
			expect(e.message.length).toBeGreaterThan(0);
		}
		const e = await expectError(call.batch.tags({ contactIds: [id], tags: ['a'], operation: 'toggle' } as never), 'BAD_REQUEST');
		expect(e.message).toMatch(/operation/);
		expect(await sql()`select count(*)::int as n from batch_operations`).toEqual(before);
		expect(await sql()`select count(*)::int as n from graphile_worker.jobs`).toEqual(jobsBefore);
	});

	it('is for operators: a viewer is refused', async () => {
		const { call } = await userCaller('viewer');
		await expectError(call.batch.tags({ contactIds: [1], tags: ['a'], operation: 'add' }), 'FORBIDDEN');
		await expectError(call.batch.delete({ contactIds: [1] }), 'FORBIDDEN');
	});
});
