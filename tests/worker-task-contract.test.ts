/**
 * The worker's task contract (worker/task.ts) with a real worker: a job whose payload
 * is malformed fails at once, for good, and fails the batch it names with a short
 * reason; a job that throws on its last attempt fails its batch and is not run again,
 * while an earlier attempt that throws is only retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { enqueue } from '../src/lib/server/jobs/enqueue';
import { TASK } from '../src/lib/server/jobs/payloads';
import { startWorker, type WorkerHandle } from '../worker/index';
import { itemCounts, seedContacts } from './send-helpers';
import { sleep, userCaller, waitFor } from './helpers';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 2 });
});
afterAll(async () => {
	await worker?.stop();
});

type JobRow = { id: string; attempts: number; max_attempts: number; last_error: string | null; locked_at: Date | null };

/** Adds a job with raw SQL, as a bug or an older release could: enqueue() refuses bad payloads. */
async function addRawJob(task: string, payload: unknown, maxAttempts = 25): Promise<string> {
	const [row] = await sql()<{ id: string }[]>`
		select (graphile_worker.add_job(${task}::text, ${JSON.stringify(payload)}::json, max_attempts => ${maxAttempts}::int)).id::text as id`;
	return row.id;
}

async function job(id: string): Promise<JobRow | undefined> {
	const [row] = await sql()<JobRow[]>`
		select id::text, attempts, max_attempts, last_error, locked_at from graphile_worker.jobs where id = ${id}`;
	return row;
}

/** The job once an attempt has ended (it failed and was released). */
async function failedAttempt(id: string, attempts: number): Promise<JobRow> {
	return waitFor(async () => {
		const j = await job(id);
		return j && j.attempts === attempts && j.last_error !== null && j.locked_at === null ? j : null;
	});
}

/** Makes the job due now and gives the worker time to fetch it if it is still runnable. */
async function offerAgain(id: string) {
	await sql()`update graphile_worker._private_jobs set run_at = now() where id = ${id}`;
	await sleep(2_500); // the worker polls every second (and is notified of new jobs only)
}

async function importBatch(): Promise<string> {
	const [row] = await sql()<{ id: string }[]>`
		insert into batch_operations (type, status, input, total_count)
		values ('IMPORT', 'PENDING', ${JSON.stringify({ format: 'json', contactCount: 1 })}::jsonb, 1) returning id`;
	return row.id;
}

async function statusOf(batchId: string) {
	const { call } = await userCaller('viewer');
	return call.batch.status({ batchId });
}

describe('a malformed payload', () => {
	it('fails the job at once and for good, and fails the batch it names with the bad field', async () => {
		const batchId = await importBatch();
		const id = await addRawJob(TASK.importRun, { batchId, contacts: 'not a list' });
		const j = await failedAttempt(id, 1);
		// Permanently failed after one attempt: attempts = max_attempts, with the reason.
		expect(j).toMatchObject({ attempts: 1, max_attempts: 1 });
		expect(j.last_error).toMatch(/^Bad payload for import:run: contacts: /);
		const s = await statusOf(batchId);
		expect(s.status).toBe('FAILED');
		expect(s.error).toMatch(/^Import failed: Bad payload for import:run: contacts: .*expected array/);
		expect(s.completedAt).not.toBeNull();
		// Even when due again, the worker never runs it a second time.
		await offerAgain(id);
		expect(await job(id)).toMatchObject({ attempts: 1, max_attempts: 1 });
	});

	it('summarises thousands of validation issues into a short reason', async () => {
		const batchId = await importBatch();
		const contacts = Array.from({ length: 10_000 }, () => ({ phoneE164: 5 }));
		const id = await addRawJob(TASK.importRun, { batchId, contacts });
		await failedAttempt(id, 1);
		const s = await statusOf(batchId);
		expect(s.status).toBe('FAILED');
		expect(s.error).toMatch(/contacts\.0\.phoneE164: .*; contacts\.1\.phoneE164: .*; contacts\.2\.phoneE164: .*; and 9997 more issues$/);
		expect(s.error!.length).toBeLessThan(600);
		expect(s.error).not.toContain('contacts.3.');
	});

	it('still fails for good when it names no batch', async () => {
		const id = await addRawJob(TASK.bulkRun, { batchId: 42 });
		const j = await failedAttempt(id, 1);
		expect(j.max_attempts).toBe(1);
		expect(j.last_error).toMatch(/^Bad payload for bulk:run: batchId: /);
	});

	it('fails a SEND batch through its own final failure: its unsent messages are cancelled', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(5, { prefix: '+1966' });
		const batch = await call.batch.send({ contactIds: ids, content: 'x', scheduleAt: new Date(Date.now() + 3600_000) });
		const id = await addRawJob(TASK.sendSlice, { batchId: batch.id, lane: 'two' });
		const j = await failedAttempt(id, 1);
		expect(j.max_attempts).toBe(1);
		const s = await statusOf(batch.id);
		expect(s.status).toBe('FAILED');
		expect(s.error).toMatch(/^Bad payload for send:slice: lane: /);
		expect(await itemCounts(batch.id)).toEqual({ cancelled: 5 });
	});
});

describe('a task that throws', () => {
	it('is retried before its last attempt; on the last one it fails the batch and is not run again', async () => {
		const { user } = await userCaller('operator');
		// A TAG batch with neither a filter nor ids: runBulkBatch throws on every attempt.
		const [batch] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, input, total_count, created_by)
			values ('TAG', 'PENDING', ${JSON.stringify({ operation: 'add', tags: ['x'] })}::jsonb, 0, ${user.id}) returning id`;
		await enqueue(TASK.bulkRun, { batchId: batch.id }, { maxAttempts: 2 });
		const [{ id }] = await sql()<{ id: string }[]>`
			select id::text from graphile_worker._private_jobs where payload->>'batchId' = ${batch.id}`;

		const first = await failedAttempt(id, 1);
		expect(first.max_attempts).toBe(2);
		expect(first.last_error).toMatch(/neither a filter nor its id list/);
		// Not the last attempt: the batch is still running, waiting for the retry.
		expect((await statusOf(batch.id)).status).toBe('PROCESSING');

		await sql()`update graphile_worker._private_jobs set run_at = now() where id = ${id}`;
		const last = await failedAttempt(id, 2);
		expect(last.max_attempts).toBe(2);
		const s = await waitFor(async () => {
			const b = await statusOf(batch.id);
			return b.status === 'FAILED' ? b : null;
		});
		expect(s.error).toMatch(/^Batch .* has neither a filter nor its id list \(gave up after 2 attempts\)$/);

		await offerAgain(id);
		expect(await job(id)).toMatchObject({ attempts: 2, max_attempts: 2 });
	});
});
