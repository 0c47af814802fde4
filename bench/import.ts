/**
 * npm run bench:import [-- --rows N] [--base N]
 *
 * Generates a CSV of N rows (default 1M: 10% duplicates — half repeating an earlier
 * row, half already in the base — 1% invalid phones, mixed formats such as
 * "+86 138 0013 8000" and "(415) 555-0100" with default country US, a tags column),
 * imports it through the real upload route (in a web child process, Bearer token,
 * streamed over HTTP) and a real worker child process into a base already holding
 * `base` contacts (default 1M). Baseline, in the same run and database: COPY of the
 * already-normalised valid rows into a staging table + INSERT … ON CONFLICT DO NOTHING
 * into an identical table holding the same base.
 * Progress on stderr; the last stdout line is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import postgres from 'postgres';
import { benchDatabase, stopChildren } from './bench-db';
import { copyBaseline, copyCell, csvAndTsv, peakRssMb, uploadFile, webRole } from './upload-route';
import { freePort } from '../scripts/lib/free-port';

const arg = (name: string, dflt: number) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const log = (...a: unknown[]) => console.error('[bench:import]', ...a);



const BASE_PREFIX = '+86138'; // base contacts: +86 138 0000 0000 …
const US_AREAS = [212, 310, 415, 646, 718, 202, 305, 312, 617, 702];
const NAMES = ['张伟', '王芳', 'Li Na', 'Ann Smith', 'José Díaz', 'Олег', 'Chen "CC" Chen', 'Ravi, K.'];
const TAGS = ['', 'vip', 'beijing,vip', 'lead', 'fair;2024', ''];

/** One valid new phone, unique per i, in one of several written formats, with its E.164. */
function newPhone(i: number): [string, string] {
	switch (i % 4) {
		case 0: {
			const n = String(i).padStart(8, '0');
			return [`+86 139 ${n.slice(0, 4)} ${n.slice(4)}`, `+86139${n}`];
		}
		case 1: {
			const area = US_AREAS[Math.floor(i / 4) % US_AREAS.length];
			const k = Math.floor(i / 40);
			const exch = 200 + (k % 800);
			const line = String(Math.floor(k / 800) % 10000).padStart(4, '0');
			return [`(${area}) ${exch}-${line}`, `+1${area}${exch}${line}`];
		}
		case 2: {
			const n = String(i).padStart(8, '0');
			return [`+49 151 ${n}`, `+49151${n}`];
		}
		default: {
			// UK mobiles valid in the GB plan: 7911 followed by 0, 2 or 8, then five digits.
			const j = Math.floor(i / 4);
			const n = `${'028'[j % 3]}${String(Math.floor(j / 3)).padStart(5, '0')}`;
			return [`+44 7911 ${n}`, `+447911${n}`];
		}
	}
}

const INVALID = ['12345', '+999 123 456', 'call me', '(415) 555', '+86 138', '0'];

function csvCell(v: string): string {
	return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
function tagsOf(cell: string, batchTag: string): string[] {
	const out = cell.split(/[,;|]/).map((t) => t.trim()).filter(Boolean);
	if (!out.includes(batchTag)) out.push(batchTag);
	return out;
}

/** Writes the CSV and the baseline's normalised TSV side by side, streaming (never all in memory). */
async function generate(rows: number, base: number, csvPath: string, tsvPath: string) {
	const out = csvAndTsv(csvPath, tsvPath, 'phone,name,tags,city\n');
	let fresh = 0;
	const earlier: string[] = []; // a sample of earlier rows' E.164, for in-file repeats
	for (let i = 0; i < rows; i++) {
		const r = i % 100;
		const name = NAMES[i % NAMES.length];
		const tags = TAGS[i % TAGS.length];
		const city = i % 3 === 0 ? 'Shanghai' : 'New York, NY';
		let written: string;
		let e164: string | null;
		if (r === 7) {
			written = INVALID[i % INVALID.length];
			e164 = null;
		} else if (r % 20 === 3 && earlier.length) {
			e164 = earlier[(i * 7919) % earlier.length];
			written = e164; // a repeat of an earlier row, written in E.164
		} else if (r % 20 === 13) {
			const n = String((i * 104729) % base).padStart(8, '0');
			written = `+86 138 ${n.slice(0, 4)} ${n.slice(4)}`;
			e164 = `${BASE_PREFIX}${n}`;
		} else {
			[written, e164] = newPhone(fresh++);
			if (earlier.length < 50_000) earlier.push(e164);
			else if (i % 17 === 0) earlier[i % 50_000] = e164;
		}
		const t = e164 ? tagsOf(tags, 'bench').map((x) => `"${x}"`).join(',') : '';
		await out.add(
			`${csvCell(written)},${csvCell(name)},${csvCell(tags)},${csvCell(city)}\n`,
			e164 ? `${e164}\t${copyCell(name)}\t{${t}}\t${copyCell(JSON.stringify({ city }))}\n` : ''
		);
	}
	await out.end();
}

async function seedBase(sql: postgres.Sql, table: string, base: number) {
	// Set-based in SQL: the base only has to exist, quickly, with the same indexes.
	await sql.unsafe(`insert into ${table} (phone_e164, name, tags, attributes, source)
		select '${BASE_PREFIX}' || lpad(g::text, 8, '0'), 'Base ' || g, array['base'], '{}'::jsonb, 'seed'
		from generate_series(0, ${base - 1}) g`);
	await sql.unsafe(`vacuum analyze ${table}`);
}

async function baseline(sql: postgres.Sql, tsvPath: string): Promise<number> {
	const started = performance.now();
	await copyBaseline(sql, tsvPath, 'contacts_baseline');
	return (performance.now() - started) / 1000;
}


async function main() {
	const rows = arg('rows', 1_000_000);
	const base = arg('base', 1_000_000);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-bench-import-'));
	fs.chmodSync(tmp, 0o755);
	const children: ChildProcess[] = [];
	// A fresh database (beside DATABASE_URL's, or on a throwaway embedded server): the
	// bench never touches the contacts of a database you point it at.
	const database = await benchDatabase('import');
	try {
		const url = database.url;
		const sql = postgres(url, { max: 2, onnotice: () => {} });
		await sql`drop table if exists contacts_baseline`;
		await sql`create table contacts_baseline (like contacts including all)`;

		log(`generating ${rows} CSV rows`);
		const csvPath = path.join(tmp, 'import.csv');
		const tsvPath = path.join(tmp, 'normalised.tsv');
		await generate(rows, base, csvPath, tsvPath);
		log(`CSV: ${(fs.statSync(csvPath).size / 1024 / 1024).toFixed(1)} MB; seeding ${base} base contacts twice`);
		await seedBase(sql, 'contacts', base);
		await seedBase(sql, 'contacts_baseline', base);
		await sql`checkpoint`;

		log('baseline: COPY normalised rows into staging + INSERT … ON CONFLICT');
		const baselineSeconds = await baseline(sql, tsvPath);
		log(`baseline: ${baselineSeconds.toFixed(2)} s`);
		await sql`drop table contacts_baseline`;
		await sql`checkpoint`;

		const { createUser } = await import('../src/lib/server/auth/users');
		const { createApiToken } = await import('../src/lib/server/auth/tokens');
		const user = await createUser({ email: `bench-${Date.now()}@bench.local`, password: 'bench password 1', role: 'operator' });
		const { token } = await createApiToken(user.id, 'bench');
		const { closeDb } = await import('../src/lib/server/db/client');
		await closeDb();

		const env = { ...process.env, DATABASE_URL: url, BATCHDESK_DATA_DIR: tmp, UPLOAD_MAX_BYTES: String(2 * 1024 ** 3) };
		const webPort = await freePort();
		const web = spawn(process.execPath, ['--import', 'tsx', 'bench/import.ts', '--web'], {
			env: { ...env, BENCH_WEB_PORT: String(webPort) },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc']
		});
		children.push(web);
		// BENCH_WORKER_ARGS: extra node flags for the worker (e.g. a heap cap), printed in the result.
		// The worker runs with production's heap cap (package.json "worker", scripts/start.ts).
		const workerArgs = ['--max-old-space-size=192', '--max-semi-space-size=32', ...(process.env.BENCH_WORKER_ARGS ?? '').split(' ').filter(Boolean)];
		const worker = spawn(process.execPath, [...workerArgs, '--import', 'tsx', 'worker/index.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
		children.push(worker);
		await new Promise<void>((resolve) => web.once('message', () => resolve()));
		await new Promise((r) => setTimeout(r, 1500)); // the worker connects and listens

		log('import: upload through the route, worker processes');
		const started = performance.now();
		const res = await uploadFile(`http://127.0.0.1:${webPort}`, token, csvPath, 'bench.csv');
		if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${res.body}`);
		const batchId = JSON.parse(res.body).id as string;
		log(`uploaded in ${((performance.now() - started) / 1000).toFixed(2)} s; batch ${batchId}`);
		let last = '';
		for (;;) {
			const [b] = await sql<{ status: string; processed_count: number; total_count: number; result: Record<string, number> }[]>`
				select status, processed_count, total_count, result from batch_operations where id = ${batchId}`;
			if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(b.status)) {
				const seconds = (performance.now() - started) / 1000;
				if (b.status !== 'COMPLETED') throw new Error(`batch ended ${b.status}`);
				const peak = Math.max(peakRssMb(web.pid), peakRssMb(worker.pid));
				const reasons = await sql<{ outcome: string; reason: string; n: number }[]>`
					select outcome, reason, count(*)::int as n from import_rows where batch_id = ${batchId}
					group by 1, 2 order by 3 desc limit 8`;
				log(`ledger: ${reasons.map((r) => `${r.outcome}/${r.reason}: ${r.n}`).join('; ')}`);
				log(`import: ${seconds.toFixed(2)} s, result ${JSON.stringify(b.result)}; web ${peakRssMb(web.pid)} MB, worker ${peakRssMb(worker.pid)} MB`);
				const line = {
					bench: 'import',
					rows,
					seconds: Number(seconds.toFixed(2)),
					baselineSeconds: Number(baselineSeconds.toFixed(2)),
					ratio: Number((seconds / baselineSeconds).toFixed(2)),
					peakRssMb: peak
				};
				await sql.end();
				console.log(JSON.stringify(line));
				break;
			}
			const now = `${b.processed_count}/${b.total_count}`;
			if (now !== last) log(`  ${b.status} ${now}`);
			last = now;
			await new Promise((r) => setTimeout(r, 500));
		}
	} finally {
		await stopChildren(children);
		await database.cleanup().catch(() => {});
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

if (process.argv[2] === '--web') await webRole();
else await main();
