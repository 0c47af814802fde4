/**
 * npm run bench:providers — the engine against a provider reached over HTTP.
 * 1) Throughput: a local receiver (node:http, keep-alive) answering every POST after
 *    LATENCY ms, a webhook channel capped at CAP messages per second, RECIPIENTS
 *    recipients, WORKERS worker processes (real `worker/index.ts` children). Timed from
 *    "accepted" (the service returned) to every ledger item final. maxPer1s is the most
 *    requests the receiver saw in any sliding 1 s window (the cap says: never over CAP).
 * 2) Pacing over HTTP: PACED sends at PACED_RATE/min with jitter, receiver answering in
 *    5 ms; gaps between arrivals at the receiver (never under 60000/rate, mean on target).
 * Progress on stderr; the last stdout line is
 * {"bench":"providers","latencyMs":…,"capPerSec":…,"recipients":…,"workers":…,"msgPerSec":…,"capRatio":…,"maxPer1s":…,
 *  "maxInFlight":…,"pacedSends":…,"pacedMinGapMs":…,"pacedMeanGapMs":…,"pacedExpectedMs":…,"pacedUnderInterval":…}
 *   npm run bench:providers -- --latency 20
 *   npm run bench:providers -- --workers 2 --cap 3000 --recipients 20000
 *   npm run bench:providers -- --paced 0        (throughput only)
 */
import http from 'node:http';
import postgres from 'postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchDatabase, log, stopChildren } from './bench-db';
import { maxInWindow } from '../tests/fake-provider';

const { values: args } = parseArgs({
	options: {
		latency: { type: 'string', default: '200' },
		cap: { type: 'string', default: '1000' },
		recipients: { type: 'string', default: '20000' },
		workers: { type: 'string', default: '1' },
		paced: { type: 'string', default: '300' }
	}
});
const LATENCY = Number(args.latency);
const CAP = Number(args.cap);
const N = Number(args.recipients);
const WORKERS = Number(args.workers);
const PACED = Number(args.paced);
const PACED_RATE = 3000;
const PACED_JITTER = 10;
const PACED_LATENCY = 5;

/** A receiver that answers after `latency` ms and records when each request had arrived whole. */
async function startReceiver(latency: () => number) {
	const arrivals: number[] = [];
	const load = { inFlight: 0, max: 0 };
	let n = 0;
	const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
		load.max = Math.max(load.max, ++load.inFlight);
		req.resume();
		req.on('end', () => {
			arrivals.push(performance.timeOrigin + performance.now());
			const id = ++n;
			setTimeout(() => {
				load.inFlight--;
				res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"m${id}"}`);
			}, latency());
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address() as { port: number };
	return { url: `http://127.0.0.1:${port}/hook`, arrivals, load, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}


async function waitDone(sql: postgres.Sql, batchId: string, total: number) {
	let lastLog = 0;
	for (;;) {
		const [b] = await sql<{ status: string; processed_count: number; failed_count: number; error: string | null }[]>`
			select status, processed_count, failed_count, error from batch_operations where id = ${batchId}`;
		if (b.status === 'COMPLETED') return b;
		if (b.status === 'FAILED' || b.status === 'CANCELLED') throw new Error(`batch ${b.status}: ${b.error}`);
		if (performance.now() - lastLog > 2000) {
			lastLog = performance.now();
			log(`  ${b.processed_count} / ${total}`);
		}
		await new Promise((r) => setTimeout(r, 20));
	}
}

async function main() {
	const bench = await benchDatabase('providers');
	const sql = postgres(bench.url, { max: 2, onnotice: () => {} });
	const children: ChildProcess[] = [];
	const fast = await startReceiver(() => LATENCY);
	const slow = await startReceiver(() => PACED_LATENCY);
	try {
		log(`seeding ${N + PACED} contacts`);
		await sql`insert into contacts (phone_e164, name) select '+1' || lpad(g::text, 10, '0'), 'Contact ' || g from generate_series(1, ${N + PACED}) g`;
		const ids = (await sql<{ id: string }[]>`select id from contacts order by id`).map((r) => Number(r.id));
		const [{ id: userId }] = await sql<{ id: number }[]>`insert into users (email, password_hash, role) values ('bench@local', 'x', 'operator') returning id`;
		for (const [id, url, cap] of [['hook', fast.url, CAP], ['paced', slow.url, 1000]] as const) {
			await sql`insert into channels (id, name, kind, config, rate_per_second)
				values (${id}, ${id}, 'webhook', ${sql.json({ url, secret: 's', timeoutMs: 10_000 })}, ${cap})`;
		}
		await sql`vacuum analyze contacts`;

		log(`starting ${WORKERS} worker process(es)`);
		for (let i = 0; i < WORKERS; i++) {
			children.push(
				spawn(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', 'worker/index.ts'], {
					// The fake providers listen on 127.0.0.1, which the channel address policy refuses by default.
					env: { ...process.env, DATABASE_URL: bench.url, CHANNEL_ALLOW_PRIVATE: '1' },
					stdio: ['ignore', 'ignore', 'inherit']
				})
			);
		}
		while ((await sql<{ n: number }[]>`select count(*)::int as n from worker_processes`)[0].n < WORKERS) await new Promise((r) => setTimeout(r, 100));
		const { createSendBatch } = await import('../src/lib/server/send/create');
		const { closeDb } = await import('../src/lib/server/db/client');

		log(`throughput: ${N} recipients, receiver ${LATENCY} ms, cap ${CAP}/s, ${WORKERS} worker(s)`);
		const { batch } = await createSendBatch({ contactIds: ids.slice(0, N), content: 'Hello {{name}}', channelId: 'hook' }, userId);
		const t0 = performance.now();
		const done = await waitDone(sql, batch.id, N);
		const seconds = (performance.now() - t0) / 1000;
		if (fast.arrivals.length !== N || done.processed_count !== N || done.failed_count !== 0) {
			throw new Error(`expected ${N} requests and sends, got ${fast.arrivals.length} requests, ${done.processed_count} processed, ${done.failed_count} failed`);
		}
		const msgPerSec = N / seconds;
		const maxPer1s = maxInWindow(fast.arrivals, 1000);
		const first = Math.min(...fast.arrivals);
		const last = Math.max(...fast.arrivals);
		log(`${seconds.toFixed(2)} s, ${Math.round(msgPerSec)} msg/s (first→last request ${(N / ((last - first) / 1000)).toFixed(0)}/s), max ${maxPer1s} in 1 s, ${fast.load.max} in flight at most`);

		let paced: Record<string, number> = {};
		if (PACED > 0) {
			log(`pacing: ${PACED} sends at ${PACED_RATE}/min, jitter ${PACED_JITTER} ms, receiver ${PACED_LATENCY} ms`);
			const p = await createSendBatch(
				{ contactIds: ids.slice(N, N + PACED), content: 'paced', channelId: 'paced', ratePerMinute: PACED_RATE, jitterMs: PACED_JITTER },
				userId
			);
			await waitDone(sql, p.batch.id, PACED);
			const t = [...slow.arrivals].sort((a, b) => a - b);
			const gaps = t.slice(1).map((x, i) => x - t[i]);
			const interval = 60_000 / PACED_RATE;
			paced = {
				pacedSends: t.length,
				pacedMinGapMs: Number(Math.min(...gaps).toFixed(3)),
				pacedMeanGapMs: Number((gaps.reduce((a, b) => a + b, 0) / gaps.length).toFixed(3)),
				pacedExpectedMs: interval + PACED_JITTER / 2,
				pacedUnderInterval: gaps.filter((g) => g < interval).length
			};
			log(`paced: min gap ${paced.pacedMinGapMs} ms, mean ${paced.pacedMeanGapMs} ms (expected ${paced.pacedExpectedMs}), ${paced.pacedUnderInterval} under ${interval} ms`);
		}
		await closeDb();
		console.log(
			JSON.stringify({
				bench: 'providers',
				latencyMs: LATENCY,
				capPerSec: CAP,
				recipients: N,
				workers: WORKERS,
				msgPerSec: Math.round(msgPerSec),
				capRatio: Number((msgPerSec / CAP).toFixed(3)),
				maxPer1s,
				maxInFlight: fast.load.max,
				...paced
			})
		);
	} finally {
		await stopChildren(children);
		await fast.close();
		await slow.close();
		await sql.end({ timeout: 2 });
		await bench.cleanup();
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
