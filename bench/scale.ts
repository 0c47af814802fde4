/**
 * npm run bench:scale — issue 15 at size. SCALE_CONTACTS (default 10 000 000) contacts:
 *  1. generated as a CSV (mixed phone formats, realistic names, a tags column) and
 *     imported through the real upload route (web child process, Bearer token, streamed
 *     over HTTP), run by one of 2 worker child processes. Baseline, same run, same
 *     database: COPY of the normalised rows into staging + INSERT … ON CONFLICT DO
 *     NOTHING into a copy of contacts with the same indexes (no triggers).
 *  2. a tag added by filter to all of them (TAG batch, run by the workers). Baseline: the
 *     same change as plain 10k-row keyset UPDATEs on the same table.
 *  3. the contacts page's queries at that size, through the service functions the API
 *     calls (page + total, as contacts.list answers): ≥ 50 varied searches (phone
 *     prefix, name substring), ≥ 50 tag filters, 50 tag lists with counts; p95 each.
 *     Beside them, the old tag list (a scan of every contact's tags), timed once.
 *  4. a SCALE_SEND (default contacts / 10) recipient sandbox send (a tag held by one
 *     contact in ten) with the same 2 worker processes, from "accepted" to every item
 *     final. Baseline: bench:send's plain batched SQL (claim SKIP LOCKED, outbox insert,
 *     items and counters) from one connection over the same recipients.
 * peakRssMb is the highest VmHWM of the web and worker processes. Progress on stderr;
 * the last stdout line is {"bench":"scale",…}.
 *   SCALE_CONTACTS=1000000 npm run bench:scale   (a smaller run)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { benchDatabase, log, stopChildren } from './bench-db';
import { rawSend } from './send-baseline';
import { copyBaseline, copyCell, csvAndTsv, peakRssMb, uploadFile, webRole } from './upload-route';
import { freePort } from '../scripts/lib/free-port';

const N = Number(process.env.SCALE_CONTACTS ?? 10_000_000);
const SEND = Number(process.env.SCALE_SEND ?? Math.round(N / 10));
const WORKERS = 2;
const QUERIES = Number(process.env.SCALE_QUERIES ?? 60);



const FIRST = ['Anna', 'Wei', 'José', 'Olga', 'Ravi', 'Fatima', 'John', 'Mei', 'Lukas', 'Sofia', 'Ahmed', 'Yuki', 'Pierre', 'Ines',
	'Chen', 'Maria', 'Oleg', 'Aisha', 'Tom', 'Lena', 'Jun', 'Carlos', 'Nina', 'Omar', 'Eva', 'Hiro', 'Zoë', 'Ana', 'Ivan', 'Lea'];
const LAST = ['Kowalski', 'Zhang', 'García', 'Smith', 'Müller', 'Wang', 'Ivanova', 'Khan', 'Tanaka', 'Rossi', 'Dubois', 'Silva',
	'Nguyen', 'Kim', 'Johnson', 'Li', 'Novak', 'Haddad', 'Okafor', 'Jensen', 'Fischer', 'Lopez', 'Sato', 'Popescu', 'Brown',
	'Andersson', 'Cohen', 'Mehta', 'Walsh', 'Horvat', 'Petrov', 'Moreau', 'Costa', 'Yilmaz', 'Liu', 'Schmidt', 'Ali', 'Park', 'Chen', 'Wu'];
const US_AREAS = [212, 310, 415, 646, 718, 202, 305, 312, 617, 702];

/** Phone i (unique per i) as written in the CSV, and its E.164. CN mobiles and US numbers, several formats. */
function phone(i: number): [string, string] {
	if (i % 4 === 1) {
		const k = Math.floor(i / 4);
		const area = US_AREAS[k % US_AREAS.length];
		const rest = Math.floor(k / US_AREAS.length);
		const exch = 200 + (rest % 800);
		const line = String(Math.floor(rest / 800)).padStart(4, '0');
		return [`(${area}) ${exch}-${line}`, `+1${area}${exch}${line}`];
	}
	const n = String(i).padStart(8, '0');
	const e164 = `+86139${n}`;
	switch (i % 4) {
		case 0:
			return [`+86 139 ${n.slice(0, 4)} ${n.slice(4)}`, e164];
		case 2:
			return [e164, e164];
		default:
			return [`+86-139-${n.slice(0, 4)}-${n.slice(4)}`, e164];
	}
}
const nameOf = (i: number) => `${FIRST[(i * 7) % FIRST.length]} ${LAST[(i * 13) % LAST.length]}`;
/** Tags: r0…r19 (5% each), lead (10%: the send's recipients), vip (1%). */
const tagsOf = (i: number) => [`r${i % 20}`, ...(i % 10 === 3 ? ['lead'] : []), ...(i % 100 === 42 ? ['vip'] : [])];


/** The CSV and the baseline's normalised TSV side by side, streamed. */
async function generate(csvPath: string, tsvPath: string) {
	const out = csvAndTsv(csvPath, tsvPath, 'phone,name,tags,city\n');
	for (let i = 0; i < N; i++) {
		const [written, e164] = phone(i);
		const name = nameOf(i);
		const tags = tagsOf(i);
		const city = i % 3 === 0 ? 'Shanghai' : 'New York';
		await out.add(
			`${written},${name},"${tags.join(',')}",${city}\n`,
			`${e164}\t${copyCell(name)}\t{${[...tags, 'bench'].join(',')}}\t{"city": "${city}"}\n`
		);
	}
	await out.end();
}


const p95 = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)];
};
const r1 = (x: number) => Math.round(x * 10) / 10;

async function main() {
	const wall0 = performance.now();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-bench-scale-'));
	fs.chmodSync(tmp, 0o755);
	const children: ChildProcess[] = [];
	const database = await benchDatabase('scale');
	const sql = postgres(database.url, { max: 4, onnotice: () => {} });
	const out: Record<string, unknown> = { bench: 'scale', contacts: N };
	const details: Record<string, unknown> = {};
	const waitBatch = async (id: string, label: string) => {
		let last = 0;
		for (;;) {
			const [b] = await sql<{ status: string; processed_count: number; total_count: number }[]>`
				select status, processed_count, total_count from batch_operations where id = ${id}`;
			if (b.status === 'COMPLETED') return;
			if (['FAILED', 'CANCELLED'].includes(b.status)) throw new Error(`${label}: batch ${b.status}`);
			if (performance.now() - last > 10_000) {
				last = performance.now();
				log(`  ${label} ${b.status} ${b.processed_count}/${b.total_count}`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
	};
	const settle = async () => {
		await sql`vacuum analyze contacts`;
		await sql`checkpoint`;
	};
	try {
		// --- 1. import -------------------------------------------------------------
		const csvPath = path.join(tmp, 'scale.csv');
		const tsvPath = path.join(tmp, 'scale.tsv');
		log(`generating ${N} CSV rows`);
		await generate(csvPath, tsvPath);
		log(`CSV ${(fs.statSync(csvPath).size / 1024 ** 2).toFixed(0)} MB`);

		log('import baseline: COPY into staging + INSERT … ON CONFLICT DO NOTHING (same indexes, no triggers)');
		await sql`create table contacts_baseline (like contacts including all)`;
		const b0 = performance.now();
		await copyBaseline(sql, tsvPath, 'contacts_baseline');
		const importBaselineS = (performance.now() - b0) / 1000;
		log(`import baseline ${importBaselineS.toFixed(1)} s`);
		await sql`drop table contacts_baseline`;
		fs.rmSync(tsvPath);
		await sql`checkpoint`;

		const { createUser } = await import('../src/lib/server/auth/users');
		const { createApiToken } = await import('../src/lib/server/auth/tokens');
		const user = await createUser({ email: `scale-${Date.now()}@bench.local`, password: 'bench password 1', role: 'operator' });
		const { token } = await createApiToken(user.id, 'bench');

		const env = { ...process.env, DATABASE_URL: database.url, BATCHDESK_DATA_DIR: tmp, UPLOAD_MAX_BYTES: String(8 * 1024 ** 3) };
		const webPort = await freePort();
		const web = spawn(process.execPath, ['--import', 'tsx', 'bench/scale.ts', '--web'], {
			env: { ...env, BENCH_WEB_PORT: String(webPort) },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc']
		});
		children.push(web);
		// Production's worker flags (package.json "worker").
		const workers = Array.from({ length: WORKERS }, () =>
			spawn(process.execPath, ['--max-old-space-size=192', '--max-semi-space-size=32', '--import', 'tsx', 'worker/index.ts'], {
				env,
				stdio: ['ignore', 'ignore', 'inherit']
			})
		);
		children.push(...workers);
		await new Promise<void>((resolve) => web.once('message', () => resolve()));
		for (;;) {
			const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from worker_processes`;
			if (n >= WORKERS) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const rss = () => ({ web: peakRssMb(web.pid), workers: workers.map((w) => peakRssMb(w.pid)) });

		log('import: upload through the route, a worker process runs it');
		const i0 = performance.now();
		const res = await uploadFile(`http://127.0.0.1:${webPort}`, token, csvPath, 'scale.csv');
		if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${res.body}`);
		const importId = JSON.parse(res.body).id as string;
		log(`uploaded in ${((performance.now() - i0) / 1000).toFixed(1)} s; batch ${importId}`);
		await waitBatch(importId, 'import');
		const importS = (performance.now() - i0) / 1000;
		const [imp] = await sql<{ result: Record<string, number> }[]>`select result from batch_operations where id = ${importId}`;
		log(`import ${importS.toFixed(1)} s, result ${JSON.stringify(imp.result)}; rss ${JSON.stringify(rss())}`);
		if (imp.result.created !== N) throw new Error(`import created ${imp.result.created} of ${N}`);
		fs.rmSync(csvPath);
		out.importRatio = Number((importS / importBaselineS).toFixed(2));
		details.import = { seconds: r1(importS), baselineSeconds: r1(importBaselineS), rssAfter: rss() };

		// --- 2. tag add by filter on all --------------------------------------------
		// The raw baseline first: the second full rewrite of the table is the slower one
		// (in the 10M run of 2026-12-03 the baseline, run second, had done 6.2M rows in 20
		// min where the batch had taken 8.5 min for 10M), so the batch takes that side.
		await settle();
		log('tag baseline: plain 10k-row keyset UPDATEs (same table)');
		const [{ lo, hi }] = await sql<{ lo: number; hi: number }[]>`select min(id)::float8 as lo, max(id)::float8 as hi from contacts`;
		const tb0 = performance.now();
		for (let a = lo - 1; a < hi; a += 10_000) {
			// Every contact holds "bench": the id range alone selects them.
			await sql`update contacts set tags = tags || ${['raw-scaled']}::text[], updated_at = now()
				where id > ${a} and id <= ${a + 10_000} and not tags @> ${['raw-scaled']}::text[]`;
		}
		const tagBaselineS = (performance.now() - tb0) / 1000;
		log(`tag baseline ${tagBaselineS.toFixed(1)} s`);
		await settle();
		log(`tag add by filter on all ${N}`);
		const { createTagBatch } = await import('../src/lib/server/bulk/create');
		const t0 = performance.now();
		const tagBatch = await createTagBatch({ filter: { tags: ['bench'] }, tags: ['scaled'], operation: 'add' }, user.id);
		await waitBatch(tagBatch.id, 'tag');
		const tagS = (performance.now() - t0) / 1000;
		log(`tag batch ${tagS.toFixed(1)} s`);
		out.tagRatio = Number((tagS / tagBaselineS).toFixed(2));
		details.tag = { seconds: r1(tagS), baselineSeconds: r1(tagBaselineS) };
		await settle();

		// --- 3. queries at size -------------------------------------------------------
		const { listContacts, tagCounts } = await import('../src/lib/server/contacts/service');
		const time = async (fn: () => Promise<unknown>) => {
			const q0 = performance.now();
			await fn();
			return performance.now() - q0;
		};
		const searches: string[] = [];
		for (let k = 0; searches.length < QUERIES; k++) {
			const i = Math.floor((k * 2654435761) % N);
			const [written, e164] = phone(i);
			switch (k % 6) {
				case 0: searches.push(e164.slice(0, 6 + (k % 7))); break; // +86139…, +1212… prefixes, 5–11 digits
				case 1: searches.push(written.slice(0, 8 + (k % 5))); break; // as typed: "(212) 55", "+86 139 0…"
				case 2: searches.push(LAST[k % LAST.length]); break; // a last name
				case 3: searches.push(LAST[k % LAST.length].slice(1, 5).toLowerCase()); break; // a fragment of one
				case 4: searches.push(nameOf(i)); break; // a full name
				default: searches.push(`${FIRST[k % FIRST.length]} ${LAST[(k * 3) % LAST.length].slice(0, 3)}`); // "Anna Kow"
			}
		}
		const tagFilters = [['vip'], ['lead'], ['r7'], ['r3', 'lead'], ['vip', 'r2'], ['bench'], ['scaled', 'vip'], ['nope']];
		// One untimed pass each (the page's first load after a restart is not what p95 is about).
		for (const s of searches.slice(0, 6)) await listContacts({ search: s, limit: 50, offset: 0 });
		const searchMs: number[] = [];
		for (const [k, s] of searches.entries()) searchMs.push(await time(() => listContacts({ search: s, limit: 50, offset: (k % 3) * 50 })));
		const tagMs: number[] = [];
		for (let k = 0; k < QUERIES; k++) {
			tagMs.push(await time(() => listContacts({ tags: tagFilters[k % tagFilters.length], limit: 50, offset: (k % 4) * 50 })));
		}
		const countsMs: number[] = [];
		for (let k = 0; k < QUERIES; k++) countsMs.push(await time(() => tagCounts(500)));
		const scanMs = await time(() => sql`select t as tag, count(*)::int as count from contacts, unnest(tags) t group by t order by count(*) desc, t limit 500`);
		const slowest = searches.map((s, k) => [s, Math.round(searchMs[k])] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
		log(`search p95 ${p95(searchMs).toFixed(1)} ms (slowest ${JSON.stringify(slowest)}); tag filter p95 ${p95(tagMs).toFixed(1)} ms; ` +
			`tag counts p95 ${p95(countsMs).toFixed(1)} ms (the old scan: ${scanMs.toFixed(0)} ms)`);
		out.searchP95Ms = r1(p95(searchMs));
		out.tagCountsMs = r1(p95(countsMs));
		details.queries = { n: QUERIES, tagFilterP95Ms: r1(p95(tagMs)), searchSlowest: slowest, tagCountsScanMs: Math.round(scanMs) };

		// --- 4. send --------------------------------------------------------------------
		const [{ n: recipients }] = await sql<{ n: number }[]>`select count(*)::int as n from contacts where tags @> ${['lead']}::text[]`;
		log(`send baseline: plain batched SQL, one connection, ${recipients} recipients`);
		const [{ id: rawBatch }] = await sql<{ id: string }[]>`insert into batch_operations (type, status, channel_id)
			values ('SEND', 'PROCESSING', 'sandbox') returning id`;
		await sql`insert into batch_items (batch_id, contact_id, phone, name)
			select ${rawBatch}::uuid, id, phone_e164, name from contacts where tags @> ${['lead']}::text[] order by id`;
		await sql`vacuum analyze batch_items`;
		await sql`checkpoint`;
		const s0 = performance.now();
		await rawSend(sql, rawBatch, 2000);
		const sendBaselineS = (performance.now() - s0) / 1000;
		log(`send baseline ${sendBaselineS.toFixed(1)} s (${Math.round(recipients / sendBaselineS)} msg/s)`);
		await sql`delete from outbox`;
		await sql`delete from batch_items where batch_id = ${rawBatch}`;
		await sql`vacuum analyze outbox`;
		await sql`vacuum analyze batch_items`;
		await sql`checkpoint`;

		log(`send: ${recipients} recipients, ${WORKERS} worker processes`);
		const { createSendBatch } = await import('../src/lib/server/send/create');
		const c0 = performance.now();
		const { batch } = await createSendBatch({ filter: { tags: ['lead'] }, content: 'Hello {{name}}' }, user.id);
		const createS = (performance.now() - c0) / 1000;
		const a0 = performance.now();
		log(`send batch ${batch.id} accepted in ${createS.toFixed(1)} s (${batch.totalCount} recipients)`);
		await waitBatch(batch.id, 'send');
		const sendS = (performance.now() - a0) / 1000;
		const [check] = await sql<{ sent: number; outbox: number }[]>`
			select (select count(*)::int from batch_items where batch_id = ${batch.id} and status = 'sent') as sent,
				(select count(*)::int from outbox where batch_id = ${batch.id}) as outbox`;
		if (check.sent !== recipients || check.outbox !== recipients) throw new Error(`send: ${JSON.stringify(check)} of ${recipients}`);
		log(`send ${sendS.toFixed(1)} s (${Math.round(recipients / sendS)} msg/s), created in ${createS.toFixed(1)} s`);
		out.sendMsgPerSec = Math.round(recipients / sendS);
		details.send = {
			recipients,
			seconds: r1(sendS),
			createSeconds: r1(createS),
			baselineSeconds: r1(sendBaselineS),
			baselineMsgPerSec: Math.round(recipients / sendBaselineS),
			ratio: Number((sendS / sendBaselineS).toFixed(2))
		};

		const peaks = rss();
		out.peakRssMb = Math.max(peaks.web, ...peaks.workers);
		details.rss = peaks;
		details.minutes = r1((performance.now() - wall0) / 60_000);
		const { closeDb } = await import('../src/lib/server/db/client');
		await closeDb();
		log(`details ${JSON.stringify(details)}`);
		console.log(JSON.stringify({ ...out, details }));
	} finally {
		await stopChildren(children);
		await sql.end({ timeout: 2 }).catch(() => {});
		await database.cleanup().catch(() => {});
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

if (process.argv[2] === '--web') await webRole();
else
	await main().then(
		() => process.exit(0),
		(e) => {
			console.error(e);
			process.exit(1);
		}
	);
