/**
 * Several hosts (issue 15): two web and two worker processes, separate OS processes each
 * with a data folder of its own, sharing nothing but DATABASE_URL (this test file's
 * database on the tests' embedded PostgreSQL). An upload on web A is imported by
 * whichever worker takes it (its file travels through the database, not a folder); a
 * subscriber over WebSocket on web B sees its progress live; a send started on web B is
 * cancelled from web A. Processes are started as the chaos scenarios start them
 * (chaos/lib/processes.ts: `node server.js` on a build, `worker/index.ts` under tsx).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from '../src/lib/server/db/client';
import { createBatchdeskClient } from '../src/lib/trpc/node-client';
import { startWeb, startWorkerProcess, type Child, type Web } from '../chaos/lib/processes';
import { operatorToken } from './import-helpers';
import { waitFor } from './helpers';

const ROWS = 12_000;
const dirs = Array.from({ length: 4 }, (_, i) => fs.mkdtempSync(path.join(os.tmpdir(), `batchdesk-host${i}-`)));
const children: Child[] = [];
let webA: Web;
let webB: Web;
let token: string;

beforeAll(async () => {
	token = (await operatorToken()).token;
	const databaseUrl = process.env.DATABASE_URL!;
	[webA, webB] = await Promise.all([startWeb({ databaseUrl, dataDir: dirs[0] }), startWeb({ databaseUrl, dataDir: dirs[1] })]);
	children.push(webA, webB);
}, 600_000);

afterAll(async () => {
	await Promise.all(children.map((c) => c.stop()));
	for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Worker processes (started once the work is waiting, so the subscriber cannot miss the start). */
function startWorkers(): Child[] {
	const workers = [2, 3].map((i) =>
		startWorkerProcess({
			databaseUrl: process.env.DATABASE_URL!,
			dataDir: dirs[i],
			// Small chunks: an import of a few thousand rows reports progress several times.
			env: { LOG_LEVEL: 'info', IMPORT_CHUNK_ROWS: '1000', WORKER_CONCURRENCY: '2' }
		})
	);
	children.push(...workers);
	return workers;
}

const csv = () => 'phone,name\n' + Array.from({ length: ROWS }, (_, i) => `+1415${String(3000000 + i)},Host ${i}`).join('\n') + '\n';
const field = (e: unknown, name: string) => JSON.stringify(e).match(new RegExp(`"${name}":("?)([^",}]+)\\1`))?.[2];

describe('two web and two worker processes, nothing shared but the database', () => {
	let workers: Child[] = [];

	it('an upload on web A is imported by one of the workers while a subscriber on web B watches it live', async () => {
		const res = await fetch(`${webA.url}/api/imports`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
			body: csv()
		});
		expect(res.status).toBe(201);
		const batch = (await res.json()) as { id: string };
		// Stored in the database, on no host's disk.
		const [{ n: chunks }] = await sql()<{ n: number }[]>`select count(*)::int as n from upload_chunks`;
		expect(chunks).toBeGreaterThan(0);

		const b = createBatchdeskClient({ url: webB.url, token });
		const seen: { status: string; processed: number }[] = [];
		const sub = b.client.batch.onUpdate.subscribe(
			{ batchId: batch.id },
			{ onData: (e: unknown) => seen.push({ status: field(e, 'status') ?? '', processed: Number(field(e, 'processedCount') ?? -1) }), onError: () => {} }
		);
		try {
			await waitFor(() => seen.length > 0, 30_000);
			workers = startWorkers();
			await waitFor(() => seen.some((s) => s.status === 'COMPLETED'), 180_000, 100);
		} finally {
			sub.unsubscribe();
			b.close();
		}
		// Progress arrived live on B, from a worker on another "host": between start and end.
		expect(seen.some((s) => s.status === 'PROCESSING' && s.processed > 0 && s.processed < ROWS)).toBe(true);
		expect(seen.at(-1)).toMatchObject({ status: 'COMPLETED', processed: ROWS });
		const [{ n: contacts }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where phone_e164 like '+14153%'`;
		expect(contacts).toBe(ROWS);
		// Exactly one worker ran it, whichever took it.
		const ran = workers.filter((w) => w.grep(new RegExp(`import ${batch.id}: completed`)).length > 0);
		expect(ran.length).toBe(1);
		// The upload went with the import's end; no process wrote an uploads folder.
		const [{ n: left }] = await sql()<{ n: number }[]>`select count(*)::int as n from upload_chunks`;
		expect(left).toBe(0);
		for (const d of dirs) expect(fs.existsSync(path.join(d, 'uploads'))).toBe(false);
	}, 300_000);

	it('a send started on web B is cancelled from web A', async () => {
		// A sandbox channel slow enough (20/s) that the send is still running when cancelled.
		await sql()`
			insert into channels (id, name, kind, config, rate_per_second)
			values ('slowbox', 'slowbox', 'sandbox', '{"latencyMs": 0, "failureRate": 0}'::jsonb, 20)`;
		const a = createBatchdeskClient({ url: webA.url, token });
		const b = createBatchdeskClient({ url: webB.url, token });
		try {
			const send = await b.client.batch.send.mutate({ filter: { search: '+14153' }, content: 'Hello {{name}}', channelId: 'slowbox' });
			const sentCount = async () => (await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${send.id} and status = 'sent'`)[0].n;
			await waitFor(async () => (await sentCount()) > 0, 60_000, 100);
			const cancelled = await a.client.batch.cancel.mutate({ batchId: send.id });
			expect(['CANCELLED', 'PROCESSING']).toContain(cancelled.status);
			const done = await waitFor(async () => {
				const s = await b.client.batch.status.query({ batchId: send.id });
				return s.status === 'CANCELLED' ? s : null;
			}, 60_000, 200);
			expect(done.processedCount).toBeLessThan(ROWS);
			// Nothing is sent after the cancel has settled, by either worker.
			const after = await sentCount();
			await new Promise((r) => setTimeout(r, 2_000));
			expect(await sentCount()).toBe(after);
		} finally {
			a.close();
			b.close();
		}
	}, 180_000);
});
