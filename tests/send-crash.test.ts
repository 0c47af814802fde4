import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { userCaller, waitFor } from './helpers';
import { batchRow, createChannel, itemCounts, outboxStats, seedContacts } from './send-helpers';
import { startFakeProvider } from './fake-provider';
import { startWorker, type WorkerHandle } from '../worker/index';
import { sql } from '../src/lib/server/db/client';

// Dead workers are detected after this many seconds without a heartbeat.
process.env.WORKER_DEAD_AFTER_SECONDS = '3';

function startChild(): ChildProcess {
	const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL, WORKER_CONCURRENCY: '4', WORKER_DEAD_AFTER_SECONDS: '3' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	child.stdout?.resume();
	child.stderr?.resume();
	return child;
}

const exited = (child: ChildProcess) =>
	new Promise<{ code: number | null; signal: string | null }>((r) =>
		child.exitCode !== null || child.signalCode !== null
			? r({ code: child.exitCode, signal: child.signalCode })
			: child.once('exit', (code, signal) => r({ code, signal }))
	);

let survivor: WorkerHandle | undefined;
const children: ChildProcess[] = [];
afterAll(async () => {
	for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
	await survivor?.stop();
});

describe('crash safety with real worker processes', () => {
	it('kill -9 mid-send on an idempotent webhook: nobody lost, only in-flight keys re-sent (deduped by Idempotency-Key); resumes on a surviving worker', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 10 }));
		try {
			await createChannel('hookc', 'webhook', { url: fake.url }, 10_000);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(600, { prefix: '+1911' });
			const child = startChild();
			children.push(child);
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hookc' });
			await waitFor(() => fake.requests.length >= 100, 30_000, 5);
			child.kill('SIGKILL');
			await exited(child);
			const inFlight = (await itemCounts(res.id)).sending ?? 0;
			survivor ??= await startWorker({ concurrency: 4 });
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 60_000, 100);
			expect(await itemCounts(res.id)).toEqual({ sent: 600 });
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 600, success_count: 600, failed_count: 0 });
			// Each recipient's key reached the provider; a key sent again after the crash
			// (in flight when the worker died) is deduped by the receiver on Idempotency-Key.
			const keys = fake.requests.map((r) => r.idempotencyKey);
			expect(new Set(keys).size).toBe(600);
			expect(keys.length - 600).toBeLessThanOrEqual(inFlight);
		} finally {
			await fake.close();
		}
	}, 120_000);

	it('kill -9 mid-send on the sandbox: every recipient exactly once in the outbox', async () => {
		await createChannel('slowbox2', 'sandbox', { latencyMs: 1000 }, 100_000);
		const { call } = await userCaller('operator');
		const ids = await seedContacts(40_000, { prefix: '+1912' });
		await survivor?.stop();
		survivor = undefined;
		const child = startChild();
		children.push(child);
		const res = await call.batch.send({ contactIds: ids, content: 'Hi {{name}}', channelId: 'slowbox2' });
		await waitFor(async () => (await batchRow(res.id)).success_count > 0, 30_000, 10);
		child.kill('SIGKILL');
		await exited(child);
		expect((await batchRow(res.id)).status).toBe('PROCESSING');
		survivor = await startWorker({ concurrency: 4 });
		await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 90_000, 100);
		expect(await outboxStats(res.id)).toEqual({ rows: 40_000, distinct_items: 40_000 });
		expect(await itemCounts(res.id)).toEqual({ sent: 40_000 });
		expect((await batchRow(res.id)).success_count).toBe(40_000);
	}, 120_000);

	it('kill -9 with a provider that cannot dedupe (Twilio): the in-flight item becomes unknown and is not re-sent', async () => {
		// The first request never gets an answer: the worker dies while it is in flight.
		const fake = await startFakeProvider((n) => (n === 0 ? { kind: 'hang' } : { kind: 'ok' }));
		try {
			await createChannel('twc', 'twilio', { baseUrl: fake.url, accountSid: 'AC1', authToken: 't', from: '+15550000000', timeoutMs: 60_000 });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(3, { prefix: '+1913' });
			await survivor?.stop();
			survivor = undefined;
			const child = startChild();
			children.push(child);
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'twc', ratePerMinute: 6000 });
			await waitFor(() => fake.requests.length >= 1, 30_000, 5);
			child.kill('SIGKILL');
			await exited(child);
			survivor = await startWorker({ concurrency: 4 });
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 60_000, 100);
			expect(await itemCounts(res.id)).toEqual({ sent: 2, unknown: 1 });
			const [u] = await sql()<{ phone: string; error_code: string }[]>`select phone, error_code from batch_items where batch_id = ${res.id} and status = 'unknown'`;
			expect(u.error_code).toBe('worker_died');
			const tos = fake.requests.map((r) => new URLSearchParams(r.body).get('To'));
			expect(tos.filter((t) => t === u.phone).length).toBe(1);
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 3, success_count: 2, failed_count: 0, unknown_count: 1 });
		} finally {
			await fake.close();
		}
	}, 120_000);

	it('SIGTERM: in-flight sends finish, nothing stays claimed, the worker exits in time and another finishes the batch', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 20 }));
		try {
			await createChannel('hookt', 'webhook', { url: fake.url }, 10_000);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(500, { prefix: '+1914' });
			await survivor?.stop();
			survivor = undefined;
			const child = startChild();
			children.push(child);
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hookt' });
			await waitFor(() => fake.requests.length >= 50, 30_000, 5);
			child.kill('SIGTERM');
			const exit = await Promise.race([exited(child), new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
			expect(exit).toEqual({ code: 0, signal: null });
			expect((await itemCounts(res.id)).sending ?? 0).toBe(0);
			const sentBefore = (await itemCounts(res.id)).sent;
			expect(fake.requests.length).toBe(sentBefore);
			survivor = await startWorker({ concurrency: 4 });
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 60_000, 100);
			expect(await itemCounts(res.id)).toEqual({ sent: 500 });
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(500);
			expect(fake.requests.length).toBe(500);
		} finally {
			await fake.close();
		}
	}, 120_000);
});
