/**
 * Recovery that cannot orphan work. A worker started next to a dead worker's leftovers
 * (its row, 300 items in `sending` claimed by it, its locked job) releases them at
 * once and finishes the batch: the quoted bug was a first heartbeat that deleted the
 * dead row before the send recovery was registered, leaving the items stuck. And a
 * worker back from a gap in its own heartbeats (an outage) does not declare the others
 * dead until it has beaten steadily for the dead-after window.
 */
import { afterAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { sql, transaction } from '../src/lib/server/db/client';
import { startWorker, type WorkerHandle } from '../worker/index';
import { heartbeat, heartbeatGap, recoverDeadWorkers, WORKER_PROCESS_ID } from '../src/lib/server/jobs/recovery';
import { releaseDeadClaims } from '../src/lib/server/send/recovery';
import { recipientOf, startFakeProvider } from './fake-provider';
import { batchRow, createChannel, itemCounts, seedContacts } from './send-helpers';
import { userCaller, waitFor } from './helpers';

let worker: WorkerHandle | undefined;
afterAll(async () => {
	await worker?.stop();
});

/** A pid that was a process on this host a moment ago and is not any more. */
function deadPid(): number {
	const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
	return Number(r.stdout);
}

describe('a worker starting next to a dead one', () => {
	it('releases the dead worker’s 300 in-flight items and its job, and the batch completes with everyone sent once', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'ok' }));
		try {
			await createChannel('hook-dead', 'webhook', { url: fake.url }, 5_000);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(300, { prefix: '+1966' });
			const res = await call.batch.send({ contactIds: ids, content: 'hi', channelId: 'hook-dead' });
			// What a worker killed mid-send leaves: the batch running, every item claimed by
			// it, its slice job locked by its graphile-worker id, its heartbeat a minute old.
			const dead = `${os.hostname()}:${deadPid()}:deadbeef`;
			await sql()`update batch_operations set status = 'PROCESSING', started_at = now() where id = ${res.id}`;
			await sql()`update batch_items set status = 'sending', attempts = 1, claimed_by = ${dead}, claimed_at = now() where batch_id = ${res.id}`;
			await sql()`update graphile_worker._private_jobs set locked_by = 'pool-of-the-dead', locked_at = now() - interval '1 minute'
				where payload->>'batchId' = ${res.id}`;
			await sql()`insert into worker_processes (id, worker_ids, pid, host, last_seen_at)
				values (${dead}, ${['pool-of-the-dead']}, ${Number(dead.split(':')[1])}, ${os.hostname()}, now() - interval '1 minute')`;
			expect(await itemCounts(res.id)).toEqual({ sending: 300 });

			worker = await startWorker({ concurrency: 4 });
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 30_000, 100).catch(async (e) => {
				throw new Error(`${e}: ${JSON.stringify(await batchRow(res.id))} ${JSON.stringify(await itemCounts(res.id))}`);
			});
			expect(await itemCounts(res.id)).toEqual({ sent: 300 });
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 300, success_count: 300, unknown_count: 0 });
			// The webhook deduplicates by key: each recipient's key reached it (once, here).
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(300);
			expect((await sql()`select 1 from worker_processes where id = ${dead}`).length).toBe(0);
		} finally {
			await fake.close();
		}
	}, 60_000);

	it('a worker presumed dead while its sends are in flight counts nobody twice: its late answers are written only where it still holds the claim', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 800 }));
		try {
			await createChannel('hook-slow', 'webhook', { url: fake.url }, 5_000);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(40, { prefix: '+1977' });
			worker ??= await startWorker({ concurrency: 4 });
			const res = await call.batch.send({ contactIds: ids, content: 'hi', channelId: 'hook-slow' });
			await waitFor(async () => (await itemCounts(res.id)).sending === 40, 15_000, 20);
			// Another process judged this one dead: its claims are released while the requests are out.
			await transaction(async (tx) => {
				await releaseDeadClaims(tx, [WORKER_PROCESS_ID]);
			});
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 30_000, 100);
			expect(await itemCounts(res.id)).toEqual({ sent: 40 });
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 40, success_count: 40, failed_count: 0, unknown_count: 0 });
			// The re-sends went out under the same keys (the webhook deduplicates them).
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(40);
		} finally {
			await fake.close();
		}
	}, 60_000);

	it('claims whose reply this worker never got (committed, then the connection lost) are sent by it, once each, on a channel that cannot deduplicate', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'ok' }));
		try {
			await createChannel('twc-lost', 'twilio', { baseUrl: fake.url, accountSid: 'AC1', authToken: 't', from: '+15550000000', timeoutMs: 60_000 }, 5_000);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(30, { prefix: '+1988' });
			const res = await call.batch.send({ contactIds: ids, content: 'hi', channelId: 'twc-lost', scheduleAt: new Date(Date.now() + 3_600_000) });
			// What a claim whose reply was lost with the connection leaves (seen in CI after a
			// kill -9 of PostgreSQL): items `sending` under this live process that no lane of it
			// holds. Nobody else releases them, since this process keeps beating.
			worker ??= await startWorker({ concurrency: 4 });
			await sql()`update batch_items set status = 'sending', attempts = 1, claimed_by = ${WORKER_PROCESS_ID}, claimed_at = now() - interval '1 minute'
				where id in (select id from batch_items where batch_id = ${res.id} order by id limit 3)`;
			// Due now.
			await sql()`update batch_operations set scheduled_at = now(), next_send_at = null where id = ${res.id}`;
			await sql()`update graphile_worker._private_jobs set run_at = now() where payload->>'batchId' = ${res.id}`;
			await waitFor(async () => (await batchRow(res.id)).status === 'COMPLETED', 30_000, 100).catch(async (e) => {
				throw new Error(`${e}: ${JSON.stringify(await batchRow(res.id))} ${JSON.stringify(await itemCounts(res.id))}`);
			});
			// Never sent, so sent now rather than `unknown`; and sent once.
			expect(await itemCounts(res.id)).toEqual({ sent: 30 });
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 30, success_count: 30, unknown_count: 0 });
			expect(fake.requests.length).toBe(30);
			expect(new Set(fake.requests.map(recipientOf)).size).toBe(30);
			// The attempt that never happened is not counted.
			const [a] = await sql()<{ max: number }[]>`select max(attempts)::int as max from batch_items where batch_id = ${res.id}`;
			expect(a.max).toBe(1);
		} finally {
			await fake.close();
		}
	}, 60_000);

	it('a worker back from a gap in its heartbeats judges nobody dead until it has beaten steadily for the window', async () => {
		// Another host's worker, silent for 10 s (the outage both of them went through).
		await sql()`insert into worker_processes (id, worker_ids, pid, host, last_seen_at)
			values ('elsewhere:1:0', '{}', 1, 'elsewhere', now() - interval '10 seconds')`;
		heartbeatGap();
		const back = await heartbeat([], 1_000);
		expect(back.steadyMs).toBe(0);
		expect(await recoverDeadWorkers(5, [releaseDeadClaims], back, 1_000)).toEqual([]);
		expect((await sql()`select 1 from worker_processes where id = 'elsewhere:1:0'`).length).toBe(1);
		// Beating steadily for the window: now the silent one is dead.
		const later = { nowMs: back.nowMs + 6_000, steadyMs: 6_000 };
		expect(await recoverDeadWorkers(5, [releaseDeadClaims], later, 1_000)).toEqual(['elsewhere:1:0']);
		// Never itself.
		expect((await sql()`select 1 from worker_processes where id = ${WORKER_PROCESS_ID}`).length).toBe(1);
	});
});
