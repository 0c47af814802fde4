/**
 * npm run bench:pacing — pacing and scheduling accuracy on the database clock.
 * 1) 3 000 sends at ratePerMinute 6000 with jitterMs 20 to the sandbox, 2 worker
 *    processes: gaps between consecutive sends from the outbox's recorded times.
 * 2) 20 batches scheduled 10 s ahead (staggered by 250 ms): lateness of the first
 *    send behind scheduledAt; any send before it counts as early.
 * The raw baseline is the database clock itself: expectedIntervalMs = 60000/rate + jitter/2.
 * Last stdout line:
 * {"bench":"pacing","maxPerWindow":…,"meanIntervalMs":…,"expectedIntervalMs":…,"lateP95Ms":…,"earlyCount":…}
 *   BENCH_SENDS=600 npm run bench:pacing   (a shorter run)
 */
import postgres from 'postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { benchDatabase, log, stopChildren } from './bench-db';

const SENDS = Number(process.env.BENCH_SENDS ?? 3000);
const RATE = 6000;
const JITTER = 20;
const SCHEDULED = 20;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

function percentile(xs: number[], p: number) {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main() {
	const bench = await benchDatabase('pacing');
	const sql = postgres(bench.url, { max: 2, onnotice: () => {} });
	const children: ChildProcess[] = [];
	try {
		await sql`insert into contacts (phone_e164, name) select '+1' || lpad(g::text, 10, '0'), 'C' || g from generate_series(1, ${SENDS + SCHEDULED}) g`;
		const ids = (await sql<{ id: string }[]>`select id from contacts order by id`).map((r) => Number(r.id));
		const [{ id: userId }] = await sql<{ id: number }[]>`insert into users (email, password_hash, role) values ('b@local', 'x', 'operator') returning id`;
		for (let i = 0; i < WORKERS; i++) {
			children.push(spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], { env: { ...process.env, DATABASE_URL: bench.url }, stdio: ['ignore', 'ignore', 'inherit'] }));
		}
		while ((await sql<{ n: number }[]>`select count(*)::int as n from worker_processes`)[0].n < WORKERS) await new Promise((r) => setTimeout(r, 100));
		const { createSendBatch } = await import('../src/lib/server/send/create');
		const { closeDb } = await import('../src/lib/server/db/client');

		log(`paced batch: ${SENDS} sends at ${RATE}/min, jitter ${JITTER} ms`);
		const paced = await createSendBatch({ contactIds: ids.slice(0, SENDS), content: 'paced', ratePerMinute: RATE, jitterMs: JITTER }, userId);
		log(`${SCHEDULED} batches scheduled 10 s ahead`);
		const scheduled: string[] = [];
		const [{ now }] = await sql<{ now: number }[]>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as now`;
		for (let i = 0; i < SCHEDULED; i++) {
			const { batch } = await createSendBatch(
				{ contactIds: [ids[SENDS + i]], content: 'scheduled', scheduleAt: new Date(now + 10_000 + i * 250) },
				userId
			);
			scheduled.push(batch.id);
		}
		const all = [paced.batch.id, ...scheduled];
		for (let last = 0; ; ) {
			const [r] = await sql<{ open: number; done: number }[]>`
				select count(*) filter (where status not in ('COMPLETED', 'FAILED', 'CANCELLED'))::int as open,
					(select processed_count from batch_operations where id = ${paced.batch.id}) as done
				from batch_operations where id = any(${all}::uuid[])`;
			if (r.open === 0) break;
			if (Date.now() - last > 5000) {
				last = Date.now();
				log(`  paced ${r.done} / ${SENDS}; ${r.open} batches open`);
			}
			await new Promise((r) => setTimeout(r, 200));
		}
		const times = (
			await sql<{ ms: number }[]>`select (extract(epoch from created_at) * 1000)::float8 as ms from outbox where batch_id = ${paced.batch.id} order by created_at`
		).map((r) => r.ms);
		if (times.length !== SENDS) throw new Error(`expected ${SENDS} sends, got ${times.length}`);
		const gaps = times.slice(1).map((t, i) => t - times[i]);
		const meanIntervalMs = gaps.reduce((a, b) => a + b, 0) / gaps.length;
		let maxPerWindow = 0;
		for (let i = 0, j = 0; i < times.length; i++) {
			while (j < times.length && times[j] < times[i] + 60_000) j++;
			maxPerWindow = Math.max(maxPerWindow, j - i);
		}
		const late = await sql<{ late_ms: number }[]>`
			select (extract(epoch from (min(o.created_at) - b.scheduled_at)) * 1000)::float8 as late_ms
			from batch_operations b join outbox o on o.batch_id = b.id where b.id = any(${scheduled}::uuid[]) group by b.id, b.scheduled_at`;
		const lates = late.map((r) => r.late_ms);
		const expected = 60_000 / RATE + JITTER / 2;
		log(`min gap ${Math.min(...gaps).toFixed(2)} ms, mean ${meanIntervalMs.toFixed(2)} ms, lateness max ${Math.max(...lates).toFixed(1)} ms`);
		await closeDb();
		console.log(
			JSON.stringify({
				bench: 'pacing',
				maxPerWindow,
				meanIntervalMs: Number(meanIntervalMs.toFixed(3)),
				expectedIntervalMs: expected,
				minIntervalMs: Number(Math.min(...gaps).toFixed(3)),
				lateP95Ms: Number(percentile(lates, 95).toFixed(1)),
				earlyCount: lates.filter((l) => l < 0).length
			})
		);
	} finally {
		await stopChildren(children);
		await sql.end({ timeout: 2 });
		await bench.cleanup();
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
