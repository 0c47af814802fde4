/**
 * npm run bench:live — 200 ws subscribers (half on the batch, half on the all-batches
 * stream) while a 100 000-recipient SEND runs on 2 worker processes, with the web
 * (ws + LISTEN bus) in its own process. Latency is measured from the moment a
 * worker's publishing commit is visible (this process's own LISTEN receives the
 * pg_notify, delivered at commit; ~0.2 ms) to each client's receipt of an event
 * showing at least that progress. Commits whose notify the worker coalesced away are
 * not counted separately: they are covered by the next published one (≤ 200 ms later).
 * Raw baseline in the same run: the NOTIFY → LISTEN latency alone.
 * Last stdout line: {"bench":"live","subscribers":…,"p50Ms":…,"p95Ms":…,"p99Ms":…,"missedTerminal":…}
 *   BENCH_SUBSCRIBERS=50 BENCH_MESSAGES=20000 npm run bench:live   (a smaller run)
 */
import postgres from 'postgres';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { benchDatabase, log, stopChildren } from './bench-db';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200);
const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const WORKERS = 2;
/** Time for all subscribers to connect before the send starts (notifications before that are not counted). */
const START_IN_MS = Number(process.env.BENCH_START_IN_MS ?? 20_000);

type Seen = { at: number; status: string; processed: number };
const RANK: Record<string, number> = { PENDING: 0, PROCESSING: 1, PAUSED: 1, COMPLETED: 2, FAILED: 2, CANCELLED: 2 };
const covers = (e: Seen, n: Seen) => RANK[e.status] > RANK[n.status] || (RANK[e.status] === RANK[n.status] && e.processed >= n.processed);

function pct(sorted: number[], p: number) {
	if (!sorted.length) return null;
	return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

async function main() {
	const bench = await benchDatabase('live');
	const sql = postgres(bench.url, { max: 3, onnotice: () => {} });
	const children: ChildProcess[] = [];
	const clients: Array<{ close(): void }> = [];
	try {
		log(`seeding ${N} contacts`);
		await sql`insert into contacts (phone_e164, name) select '+1' || lpad(g::text, 10, '0'), 'Contact ' || g from generate_series(1, ${N}) g`;
		await sql`vacuum analyze contacts`;
		const { createUser } = await import('../src/lib/server/auth/users');
		const { createApiToken } = await import('../src/lib/server/auth/tokens');
		const { createBatchdeskClient } = await import('../src/lib/trpc/node-client');
		const { closeDb } = await import('../src/lib/server/db/client');
		const user = await createUser({ email: 'bench-live@local', password: 'bench live password', role: 'operator' });
		const { token } = await createApiToken(user.id, 'bench');

		// Raw baseline: NOTIFY → LISTEN on this machine now.
		const raw: number[] = [];
		{
			let sentAt = 0;
			let got: () => void = () => {};
			const l = await sql.listen('bench_ping', () => {
				raw.push(performance.now() - sentAt);
				got();
			});
			for (let i = 0; i < 200; i++) {
				const done = new Promise<void>((r) => (got = r));
				sentAt = performance.now();
				await sql`select pg_notify('bench_ping', 'x')`;
				await done;
			}
			await l.unlisten();
			raw.sort((a, b) => a - b);
			log(`raw NOTIFY→LISTEN p50 ${pct(raw, 50)} ms p95 ${pct(raw, 95)} ms`);
		}

		log('starting the web process and workers');
		const web = spawn(process.execPath, ['--import', 'tsx', 'bench/live-web.ts'], {
			// All subscribers are one user on one address: lift the per-user and per-address ws caps.
			env: {
				...process.env,
				DATABASE_URL: bench.url,
				WS_MAX_SOCKETS_PER_USER: String(SUBSCRIBERS + 10),
				WS_CONNECTS_PER_MINUTE: String(SUBSCRIBERS * 10)
			},
			stdio: ['ignore', 'pipe', 'inherit']
		});
		children.push(web);
		let webLag = { p50: 0, p99: 0 };
		const port = await new Promise<number>((resolve, reject) => {
			web.stdout!.on('data', (d: Buffer) => {
				const m = /ready (\d+)/.exec(d.toString());
				if (m) resolve(Number(m[1]));
				for (const l of d.toString().matchAll(/lag ([\d.]+) ([\d.]+)/g)) {
					webLag = { p50: Math.max(webLag.p50, Number(l[1])), p99: Math.max(webLag.p99, Number(l[2])) };
				}
			});
			web.once('exit', () => reject(new Error('web process exited')));
		});
		for (let i = 0; i < WORKERS; i++) {
			children.push(
				spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
					env: { ...process.env, DATABASE_URL: bench.url },
					stdio: ['ignore', 'ignore', 'inherit']
				})
			);
		}
		for (;;) {
			const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from worker_processes`;
			if (n >= WORKERS) break;
			await new Promise((r) => setTimeout(r, 100));
		}

		// Scheduled a few seconds ahead so per-batch subscribers are in place before it starts.
		const { createSendBatch } = await import('../src/lib/server/send/create');
		const { batch } = await createSendBatch({ filter: { all: true }, content: 'Hello {{name}}', scheduleAt: new Date(Date.now() + START_IN_MS) }, user.id);
		log(`batch ${batch.id}: ${batch.totalCount} recipients, starts in ~${START_IN_MS / 1000} s`);

		// This process's own LISTEN: when each publishing commit became visible, and what it showed.
		const notes: Seen[] = [];
		let terminalAt = 0;
		// The payload is the row as committed (publish.ts), so no read is needed here.
		const listener = await sql.listen('batch_update', (payload) => {
			const at = performance.now();
			const b = JSON.parse(payload) as { id: string; status: string; processedCount: number };
			if (b.id !== batch.id) return;
			notes.push({ at, status: b.status, processed: b.processedCount });
			if (RANK[b.status] === 2 && !terminalAt) terminalAt = at;
		});

		const seen: Seen[][] = [];
		const wsHop: number[] = [];
		const url = `http://127.0.0.1:${port}`;
		for (let i = 0; i < SUBSCRIBERS; i++) {
			const bd = createBatchdeskClient({ url, token });
			const mine: Seen[] = [];
			seen.push(mine);
			const sub = bd.client.batch.onUpdate.subscribe(i % 2 ? { batchId: batch.id } : {}, {
				onData: (ev) => {
					// Same machine, same clock: the web process stamped the event when it fanned it out.
					wsHop.push(Date.now() - ev.data.timestamp);
					const d = ev.data.data;
					if (d.id === batch.id) mine.push({ at: performance.now(), status: d.status, processed: d.processedCount });
				},
				onError: (e) => log(`subscriber ${i}: ${e.message}`)
			});
			clients.push({ close: () => (sub.unsubscribe(), bd.close()) });
		}
		for (;;) {
			const ready = seen.filter((s) => s.length > 0).length;
			if (ready === SUBSCRIBERS) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const allReadyAt = performance.now();
		webLag = { p50: 0, p99: 0 }; // from here on: the send, not start-up
		const benchLag = monitorEventLoopDelay({ resolution: 5 });
		benchLag.enable();
		log(`${SUBSCRIBERS} subscribers have their snapshot`);

		let lastLog = 0;
		while (!terminalAt) {
			if (performance.now() - lastLog > 2000) {
				lastLog = performance.now();
				log(`  ${notes.at(-1)?.processed ?? 0} / ${N} (${notes.length} notifications)`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
		// Give the terminal event up to 10 s to reach everyone, then count who missed it.
		const deadline = performance.now() + 10_000;
		const hasTerminal = (s: Seen[]) => s.some((e) => RANK[e.status] === 2);
		while (performance.now() < deadline && !seen.every(hasTerminal)) await new Promise((r) => setTimeout(r, 50));
		const missedTerminal = seen.filter((s) => !hasTerminal(s)).length;
		await listener.unlisten();

		const lat: number[] = [];
		let unmatched = 0;
		const counted = notes.filter((x) => x.status !== 'PENDING' && x.at >= allReadyAt);
		for (const n of counted) {
			for (const s of seen) {
				// The first event showing at least this commit's state (states only grow, so
				// it cannot predate the commit; it can beat this process's own LISTEN: 0).
				const e = s.find((x) => covers(x, n));
				if (!e) unmatched++;
				else lat.push(Math.max(0, e.at - n.at));
			}
		}
		lat.sort((a, b) => a - b);
		log(`${counted.length} of ${notes.length} notifications (after all connected) × ${SUBSCRIBERS} subscribers: ${lat.length} deliveries, ${unmatched} never covered`);
		for (const c of clients) c.close();
		await closeDb();
		console.log(
			JSON.stringify({
				bench: 'live',
				subscribers: SUBSCRIBERS,
				recipients: N,
				notifications: counted.length,
				deliveries: lat.length,
				p50Ms: pct(lat, 50),
				p95Ms: pct(lat, 95),
				p99Ms: pct(lat, 99),
				maxMs: pct(lat, 100),
				missedTerminal,
				// Of which: the web process's fan-out to the client's receipt (ws + both event loops).
				wsHopP50Ms: pct(wsHop.sort((a, b) => a - b), 50),
				wsHopP95Ms: pct(wsHop, 95),
				// Event-loop delay (CPU starvation): worst per-second p50/p99 of the web process, p50/p99 of this one.
				webLoopDelayMs: webLag,
				clientLoopDelayMs: { p50: Math.round(benchLag.percentile(50) / 1e5) / 10, p99: Math.round(benchLag.percentile(99) / 1e5) / 10 },
				rawNotifyP50Ms: pct(raw, 50),
				rawNotifyP95Ms: pct(raw, 95)
			})
		);
	} finally {
		await stopChildren(children);
		await sql.end({ timeout: 2 });
		await bench.cleanup();
	}
}

main().then(
	() => process.exit(0),
	(e) => {
		console.error(e);
		process.exit(1);
	}
);
