/**
 * npm run bench:bulk — tag add / remove / set and delete of N contacts (default
 * 1 000 000), by filter and by id list, through Batchdesk (batch created by the
 * service, run by the real worker in-process: chunks, counters, ledger, live publish)
 * next to the raw SQL doing the same change in the same run. The raw baseline is the
 * faster of one plain statement and plain 10k-id chunks. Progress on stderr; the last
 * stdout line is {"bench":"bulk","worstRatio":…,"cases":{…}}.
 *   BENCH_CONTACTS=200000 npm run bench:bulk   (a smaller run)
 */
import postgres from 'postgres';
import { benchDatabase, log } from './bench-db';

const N = Number(process.env.BENCH_CONTACTS ?? 1_000_000);
const CHUNK = 10_000;
/** BENCH_CASES=tag-add-filter,delete-ids runs only those cases. */
const ONLY = process.env.BENCH_CASES?.split(',');

type Case = { ms: number; rawMs: number; rawOneStatementMs: number; rawChunkedMs: number; ratio: number; rows: number; rowsPerSec: number };

async function main() {
	const bench = await benchDatabase('bulk');
	const sql = postgres(bench.url, { max: 2, onnotice: () => {} });
	// App modules read DATABASE_URL lazily: import them after benchDatabase set it.
	const { startWorker } = await import('../worker/index');
	const { createTagBatch, createDeleteBatch } = await import('../src/lib/server/bulk/create');
	const { closeDb } = await import('../src/lib/server/db/client');
	const worker = await startWorker({ concurrency: 2 });
	const cases: Record<string, Case> = {};
	try {
		log(`seeding ${N} contacts`);
		await sql`insert into contacts (phone_e164, name, tags)
			select '+1' || lpad(g::text, 10, '0'), 'Contact ' || g, array['bench', 'g' || (g % 10)]
			from generate_series(1, ${N}) g`;
		const [{ id: userId }] = await sql<{ id: number }[]>`insert into users (email, password_hash, role)
			values ('bench@local', 'x', 'operator') returning id`;
		// Untimed warm-up pass so the first measured run does not pay for cold caches.
		await sql`update contacts set tags = tags || ${['warm']}::text[]`;
		await sql`update contacts set tags = array_remove(tags, 'warm')`;
		const allIds = async () => (await sql<{ id: string }[]>`select id from contacts order by id`).map((r) => Number(r.id));
		const settle = async () => {
			await sql`vacuum analyze contacts`;
			await sql`checkpoint`;
		};

		/** Runs a batch through the worker, returns ms from create to COMPLETED. */
		const viaBatchdesk = async (create: () => Promise<{ id: string }>) => {
			await settle();
			const t0 = performance.now();
			const { id } = await create();
			const createMs = performance.now() - t0;
			for (;;) {
				const [b] = await sql<{ status: string; processed_count: number; success_count: number }[]>`
					select status, processed_count, success_count from batch_operations where id = ${id}`;
				if (b.status === 'COMPLETED') {
					const ms = performance.now() - t0;
					const [t] = await sql<{ pickup: number; run: number }[]>`
						select extract(epoch from started_at - created_at) * 1000 as pickup,
							extract(epoch from completed_at - started_at) * 1000 as run
						from batch_operations where id = ${id}`;
					log(`  batchdesk ${ms.toFixed(0)} ms (create ${createMs.toFixed(0)}, to started ${Number(t.pickup).toFixed(0)}, ` +
						`started→completed ${Number(t.run).toFixed(0)}; changed ${b.success_count} of ${b.processed_count})`);
					return { ms, id, changed: b.success_count };
				}
				if (b.status === 'FAILED' || b.status === 'CANCELLED') throw new Error(`batch ${id} ${b.status}`);
				await new Promise((r) => setTimeout(r, 20));
			}
		};
		const timed = async (label: string, fn: () => Promise<unknown>) => {
			await settle();
			const t0 = performance.now();
			await fn();
			const ms = performance.now() - t0;
			log(`  ${label} ${ms.toFixed(0)} ms`);
			return ms;
		};
		const chunked = async (ids: number[], stmt: (chunk: number[]) => Promise<unknown>) => {
			for (let i = 0; i < ids.length; i += CHUNK) await stmt(ids.slice(i, i + CHUNK));
		};
		const record = (name: string, ms: number, one: number, chk: number, rows: number) => {
			const rawMs = Math.min(one, chk);
			cases[name] = {
				ms: Math.round(ms),
				rawMs: Math.round(rawMs),
				rawOneStatementMs: Math.round(one),
				rawChunkedMs: Math.round(chk),
				ratio: Math.round((ms / rawMs) * 100) / 100,
				rows,
				rowsPerSec: Math.round(rows / (ms / 1000))
			};
			log(`${name}: ratio ${cases[name].ratio}`);
		};

		// Tag cases. Each step changes every contact, alternating tag names so that the
		// Batchdesk run and the raw runs do the same amount of real work.
		type Op = 'add' | 'remove' | 'set';
		const rawTag = (op: Op, tag: string) => {
			const t = [tag];
			if (op === 'add') return { set: sql`tags || ${t}::text[]`, guard: sql`not tags @> ${t}::text[]` };
			if (op === 'remove') return { set: sql`array_remove(tags, ${tag})`, guard: sql`tags && ${t}::text[]` };
			return { set: sql`${['bench', tag]}::text[]`, guard: sql`not (tags @> ${['bench', tag]}::text[] and tags <@ ${['bench', tag]}::text[])` };
		};
		for (const by of ['filter', 'ids'] as const) {
			for (const op of ['add', 'remove', 'set'] as Op[]) {
				const name = `tag-${op}-${by}`;
				if (ONLY && !ONLY.includes(name)) continue;
				log(`${name} (${N} contacts)`);
				const ids = by === 'ids' ? await allIds() : [];
				// add: a new tag; remove: the tag just added; set: a fresh list.
				const tagFor = (who: string) => (op === 'set' ? [`bench`, `set-${who}`] : [`t-${who}`]);
				// Raw first, Batchdesk second, raw again: neither side always gets the cold run.
				const one = rawTag(op, op === 'set' ? 'set-one' : 't-one');
				const oneMs = await timed('raw one statement', () =>
					by === 'ids'
						? sql`update contacts set tags = ${one.set}, updated_at = now() where id = any(${ids}::bigint[]) and ${one.guard}`
						: sql`update contacts set tags = ${one.set}, updated_at = now() where tags @> ${['bench']}::text[] and ${one.guard}`
				);
				const ours = await viaBatchdesk(() =>
					createTagBatch(
						by === 'ids' ? { contactIds: ids, tags: tagFor('bd'), operation: op } : { filter: { tags: ['bench'] }, tags: tagFor('bd'), operation: op },
						userId
					)
				);
				const chk = rawTag(op, op === 'set' ? 'set-chk' : 't-chk');
				const chunkIds = by === 'ids' ? ids : await allIds();
				const chkMs = await timed('raw 10k chunks', () =>
					chunked(chunkIds, (c) =>
						sql`update contacts set tags = ${chk.set}, updated_at = now() where id = any(${c}::bigint[]) and ${chk.guard}`
					)
				);
				record(name, ours.ms, oneMs, chkMs, N);
			}
		}

		// Delete cases: Batchdesk archives each row for a restore, so the raw baseline
		// does the same (delete … returning into deleted_contacts); a bare DELETE is
		// reported beside it. The contacts are restored (untimed) between runs.
		const [{ id: rawBatch }] = await sql<{ id: string }[]>`insert into batch_operations (type, status) values ('DELETE', 'COMPLETED') returning id`;
		const restore = async (batchId: string) => {
			await sql`insert into contacts (id, phone_e164, name, tags, attributes, source, opted_out_at, created_at)
				overriding system value
				select contact_id, phone_e164, name, tags, attributes, source, opted_out_at, created_at from deleted_contacts where batch_id = ${batchId}`;
			await sql`delete from deleted_contacts where batch_id = ${batchId}`;
		};
		const plain: Record<string, number> = {};
		for (const by of ['filter', 'ids'] as const) {
			const name = `delete-${by}`;
			if (ONLY && !ONLY.includes(name)) continue;
			log(`${name} (${N} contacts)`);
			const ids = await allIds();
			const ours = await viaBatchdesk(() => createDeleteBatch(by === 'ids' ? { contactIds: ids } : { filter: { tags: ['bench'] } }, userId));
			await restore(ours.id);
			const archive = (where: postgres.PendingQuery<postgres.Row[]>) => sql`with d as (delete from contacts where ${where} returning *)
				insert into deleted_contacts (batch_id, contact_id, phone_e164, name, tags, attributes, source, opted_out_at, created_at)
				select ${rawBatch}, id, phone_e164, name, tags, attributes, source, opted_out_at, created_at from d`;
			const oneMs = await timed('raw one statement (+archive)', () =>
				archive(by === 'ids' ? sql`id = any(${ids}::bigint[])` : sql`tags @> ${['bench']}::text[]`)
			);
			await restore(rawBatch);
			const chkMs = await timed('raw 10k chunks (+archive)', () => chunked(ids, (c) => archive(sql`id = any(${c}::bigint[])`)));
			await restore(rawBatch);
			plain[name] = await timed('raw bare DELETE (no archive)', () =>
				by === 'ids' ? sql`delete from contacts where id = any(${ids}::bigint[])` : sql`delete from contacts where tags @> ${['bench']}::text[]`
			);
			if (by === 'filter') {
				// Put them back for the id-list case (bare DELETE kept no archive).
				await sql`insert into contacts (phone_e164, name, tags)
					select '+1' || lpad(g::text, 10, '0'), 'Contact ' || g, array['bench', 'g' || (g % 10)] from generate_series(1, ${N}) g`;
			}
			record(name, ours.ms, oneMs, chkMs, N);
		}

		const worstRatio = Math.max(...Object.values(cases).map((c) => c.ratio));
		const bareDeleteRatio = Object.fromEntries(
			Object.entries(plain).filter(([k]) => cases[k]).map(([k, v]) => [k, Math.round((cases[k].ms / v) * 100) / 100])
		);
		console.log(JSON.stringify({ bench: 'bulk', contacts: N, worstRatio, cases, bareDeleteRatio }));
	} finally {
		await worker.stop();
		await closeDb();
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
