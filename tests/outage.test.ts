/**
 * A database outage is an outage, not a crash: with a PostgreSQL of this file's own,
 * killed with -9 in the middle of a webhook send and started again, the worker process
 * stays up, health says `degraded` meanwhile, and the batch finishes by itself with
 * every recipient sent under one key. Then a TAG batch whose job is on its last
 * attempt has its worker's connections terminated again and again: it is not FAILED.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeDb, sql } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';
import { subscribe } from '../src/lib/server/events/bus';
import { publishBatchUpdate } from '../src/lib/server/events/publish';
import { startPrivatePg } from './private-pg';
import { startFakeProvider } from './fake-provider';
import { caller, sleep, userCaller, waitFor } from './helpers';
import { batchRow, createChannel, itemCounts, seedContacts } from './send-helpers';

const pg = await startPrivatePg();
await closeDb();
process.env.DATABASE_URL = pg.url;
resetEnvCache();

const children: ChildProcess[] = [];
function startWorkerProcess(name: string) {
	let out = '';
	const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		env: {
			...process.env,
			DATABASE_URL: pg.url,
			WORKER_CONCURRENCY: '4',
			WORKER_DEAD_AFTER_SECONDS: '5',
			SEND_RETRY_BASE_MS: '100',
			BULK_CHUNK_SIZE: '200',
			BATCHDESK_APP_NAME: name,
			LOG_LEVEL: 'warn'
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (out += d));
	children.push(child);
	return { child, output: () => out };
}
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

afterAll(async () => {
	for (const c of children) if (alive(c)) c.kill('SIGKILL');
	await closeDb();
	await pg.stop();
});

describe('database outage', () => {
	it('kill -9 of PostgreSQL mid-send: the worker stays up, health is degraded, the send finishes by itself, nobody under two keys', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 20 }));
		const w = startWorkerProcess('bd-outage-a');
		try {
			await createChannel('hook', 'webhook', { url: fake.url }, 150);
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1500, { prefix: '+1933' });
			const res = await call.batch.send({ contactIds: ids, content: 'hello', channelId: 'hook' });
			await waitFor(() => fake.requests.length >= 200, 60_000, 20);

			pg.kill9();
			const h = await caller().health();
			expect(h).toMatchObject({ ok: false, status: 'degraded', database: { ok: false } });
			await sleep(6_000);
			expect(alive(w.child), `worker exited while the database was away:\n${w.output()}`).toBe(true);
			await pg.start();
			const back = Date.now();

			await waitFor(async () => (await caller().health()).status === 'ok', 30_000, 200);
			const done = await waitFor(async () => ((await batchRow(res.id)).status === 'COMPLETED' ? Date.now() : 0), 120_000, 250).catch(
				async (e) => {
					throw new Error(`${e}\n${JSON.stringify(await batchRow(res.id))} ${JSON.stringify(await itemCounts(res.id))}\n${w.output().slice(-4000)}`);
				}
			);
			expect(alive(w.child), w.output()).toBe(true);
			const counts = await itemCounts(res.id);
			// Answers written late are written: nothing had to become unknown, nothing failed.
			expect(counts).toEqual({ sent: 1500 });
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 1500, success_count: 1500, failed_count: 0, unknown_count: 0 });
			// Every recipient reached; a re-send (same key) is the provider's to deduplicate.
			const keys = new Set(fake.requests.map((r) => r.idempotencyKey));
			expect(keys.size).toBe(1500);
			const byPhone = new Map<string, Set<string>>();
			for (const r of fake.requests) {
				const to = (JSON.parse(r.body) as { to: string }).to;
				byPhone.set(to, (byPhone.get(to) ?? new Set()).add(r.idempotencyKey!));
			}
			expect([...byPhone.values()].filter((k) => k.size > 1)).toEqual([]);
			console.log(`outage: send finished ${((done - back) / 1000).toFixed(1)} s after the database came back`);
		} finally {
			await fake.close();
		}
	}, 240_000);

	it('the live-update bus hears updates again after PostgreSQL was away longer than its reconnect', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(3, { prefix: '+1955' });
		const res = await call.batch.send({ contactIds: ids, content: 'x', scheduleAt: new Date(Date.now() + 3_600_000) });
		const sub = subscribe(null);
		await sub.ready;
		pg.kill9();
		// Long enough for postgres.js's own re-LISTEN to have been tried and failed.
		await sleep(8_000);
		await pg.start();
		await waitFor(async () => (await caller().health()).status === 'ok', 30_000, 200);
		const heard = await waitFor(
			async () => {
				await publishBatchUpdate(res.id).catch(() => {});
				const msgs = await Promise.race([sub.take(), sleep(1_000).then(() => [])]);
				return msgs.some((m) => 'event' in m && m.event.data.id === res.id);
			},
			40_000,
			100
		);
		expect(heard).toBe(true);
		sub.close();
	}, 120_000);

	it('a job on its last attempt whose connections are terminated again and again is queued again, and its batch completes', async () => {
		const w = children[0] && alive(children[0]) ? { child: children[0] } : startWorkerProcess('bd-outage-a');
		const { call } = await userCaller('operator');
		await seedContacts(20_000, { prefix: '+1944', tags: ['t'] });
		const res = await call.batch.tags({ filter: { tags: ['t'] }, operation: 'add', tags: ['outage'] });
		// Its job's attempt becomes the last one as soon as it is fetched.
		await sql()`update graphile_worker._private_jobs set max_attempts = 1 where payload->>'batchId' = ${res.id}`;
		let terminated = 0;
		const end = Date.now() + 8_000;
		while (Date.now() < end && (await batchRow(res.id)).status !== 'COMPLETED') {
			terminated += await pg.terminate('bd-outage-a%');
			await sleep(150);
		}
		const b = await waitFor(async () => {
			const r = await batchRow(res.id);
			return ['COMPLETED', 'FAILED'].includes(r.status) ? r : null;
		}, 90_000, 250);
		expect(b.status, `${b.error}`).toBe('COMPLETED');
		expect(terminated).toBeGreaterThan(0);
		expect(alive(w.child)).toBe(true);
		const [n] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where 'outage' = any(tags)`;
		expect(n.n).toBe(20_000);
	}, 180_000);
});
