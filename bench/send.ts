/**
 * npm run bench:send — N recipients (default 100 000) to the sandbox channel at
 * unlimited rate with 2 worker processes, timed from "accepted" (batch.send's service
 * returned) to every ledger item final. Next to it, in the same run, a raw baseline:
 * the same ledger work (claim with SKIP LOCKED, multi-row outbox insert, items and
 * counters updated per slice) as plain batched SQL from one connection.
 * Progress on stderr; the last stdout line is
 * {"bench":"send","messages":…,"seconds":…,"msgPerSec":…,"baselineSeconds":…,"ratio":…}.
 *   BENCH_MESSAGES=20000 npm run bench:send   (a smaller run)
 */
import postgres from 'postgres';
import { spawn, type ChildProcess } from 'node:child_process';
import { benchDatabase, log, stopChildren } from './bench-db';
import { rawSend } from './send-baseline';

const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const SLICE = 2000;

function startWorkerProcess(url: string): ChildProcess {
	const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		env: { ...process.env, DATABASE_URL: url },
		stdio: ['ignore', 'ignore', 'inherit']
	});
	return child;
}

async function main() {
	const bench = await benchDatabase('send');
	const sql = postgres(bench.url, { max: 2, onnotice: () => {} });
	const children: ChildProcess[] = [];
	try {
		log(`seeding ${N} contacts`);
		await sql`insert into contacts (phone_e164, name, attributes)
			select '+1' || lpad(g::text, 10, '0'), 'Contact ' || g, jsonb_build_object('city', 'C' || (g % 50))
			from generate_series(1, ${N}) g`;
		const [{ id: userId }] = await sql<{ id: number }[]>`insert into users (email, password_hash, role)
			values ('bench@local', 'x', 'operator') returning id`;
		await sql`vacuum analyze contacts`;

		// --- raw baseline: the same ledger writes as plain SQL, one connection ---
		log('baseline: plain batched SQL');
		const [{ id: rawBatch }] = await sql<{ id: string }[]>`insert into batch_operations (type, status, channel_id)
			values ('SEND', 'PROCESSING', 'sandbox') returning id`;
		await sql`insert into batch_items (batch_id, contact_id, phone, name)
			select ${rawBatch}::uuid, id, phone_e164, name from contacts order by id`;
		await sql`checkpoint`;
		const b0 = performance.now();
		await rawSend(sql, rawBatch, SLICE);
		const baselineSeconds = (performance.now() - b0) / 1000;
		log(`baseline ${baselineSeconds.toFixed(2)} s (${Math.round(N / baselineSeconds)} msg/s)`);
		await sql`delete from outbox`;
		await sql`vacuum analyze outbox`;
		await sql`checkpoint`;

		// --- Batchdesk: 2 worker processes, the real service and engine ---
		log(`starting ${WORKERS} worker processes`);
		for (let i = 0; i < WORKERS; i++) children.push(startWorkerProcess(bench.url));
		for (;;) {
			const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from worker_processes`;
			if (n >= WORKERS) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const { createSendBatch } = await import('../src/lib/server/send/create');
		const { closeDb } = await import('../src/lib/server/db/client');
		const { batch } = await createSendBatch({ filter: { all: true }, content: 'Hello' }, userId);
		const t0 = performance.now();
		log(`batch ${batch.id} accepted (${batch.totalCount} recipients)`);
		let lastLog = 0;
		for (;;) {
			const [b] = await sql<{ status: string; processed_count: number }[]>`
				select status, processed_count from batch_operations where id = ${batch.id}`;
			if (b.status === 'COMPLETED') break;
			if (b.status === 'FAILED' || b.status === 'CANCELLED') throw new Error(`batch ${b.status}`);
			if (performance.now() - lastLog > 1000) {
				lastLog = performance.now();
				log(`  ${b.processed_count} / ${N}`);
			}
			await new Promise((r) => setTimeout(r, 10));
		}
		const seconds = (performance.now() - t0) / 1000;
		const [check] = await sql<{ sent: number; outbox: number; distinct_items: number }[]>`
			select (select count(*)::int from batch_items where batch_id = ${batch.id} and status = 'sent') as sent,
				(select count(*)::int from outbox where batch_id = ${batch.id}) as outbox,
				(select count(distinct item_id)::int from outbox where batch_id = ${batch.id}) as distinct_items`;
		log(`batchdesk ${seconds.toFixed(2)} s; sent ${check.sent}, outbox ${check.outbox} rows (${check.distinct_items} distinct)`);
		if (check.sent !== N || check.outbox !== N || check.distinct_items !== N) throw new Error('ledger and outbox disagree');
		await closeDb();
		const out = {
			bench: 'send',
			messages: N,
			seconds: Number(seconds.toFixed(3)),
			msgPerSec: Math.round(N / seconds),
			baselineSeconds: Number(baselineSeconds.toFixed(3)),
			ratio: Number((seconds / baselineSeconds).toFixed(2))
		};
		console.log(JSON.stringify(out));
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
