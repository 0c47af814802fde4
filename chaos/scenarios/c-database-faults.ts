/**
 * c. Database faults under load: a web process and two workers run a webhook send and
 * TAG batches while every connection to the database is terminated every 20 s
 * (pg_terminate_backend), PostgreSQL is killed with -9 and started again mid-batch, and
 * then stays away for 60 s. No process exits, health says `degraded` while the database
 * is away and `ok` after, work resumes within 30 s of its return, every batch finishes,
 * nobody is lost or reached under two keys.
 */
import postgres from 'postgres';
import { defineScenario, invariants, round, sleep, startFakeProvider, startWeb, startWorkerProcess, waitFor, type Child } from '../lib';
import { batchRow, createChannel, lostItems, seedContacts, sql } from '../lib/db';
import { phonesUnderTwoKeys, send, stage } from '../worker-faults';
import { createTagBatch } from '../../src/lib/server/bulk/create';

const OUTAGE_MS = Number(process.env.CHAOS_C_OUTAGE_MS ?? 60_000);
const RECIPIENTS = Number(process.env.CHAOS_C_RECIPIENTS ?? 3_000);

async function health(url: string): Promise<string> {
	try {
		const res = await fetch(`${url}/api/trpc/health`, { signal: AbortSignal.timeout(5_000) });
		const body = (await res.json()) as { result?: { data?: { json?: { status?: string } } } };
		return body.result?.data?.json?.status ?? `http ${res.status}`;
	} catch (e) {
		return `unreachable: ${(e as Error).message}`;
	}
}

export default defineScenario({
	name: `database faults: connections terminated every 20 s, a kill -9 and restart of PostgreSQL mid-batch, a ${OUTAGE_MS / 1000} s outage`,
	async run() {
		const inv = invariants();
		const s = await stage('chaos_c');
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 10 }));
		const children: Child[] = [];
		let stopTerminating = false;
		let terminations = 0;
		const admin = postgres(s.pg.serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 2 });
		try {
			const web = await startWeb({ databaseUrl: s.databaseUrl, env: { BATCHDESK_APP_NAME: 'chaos-web', LOG_LEVEL: 'warn' } });
			children.push(web);
			const workerEnv = { WORKER_CONCURRENCY: '4', LOG_LEVEL: 'warn', BATCHDESK_APP_NAME: 'chaos-worker', BULK_CHUNK_SIZE: '500' };
			children.push(startWorkerProcess({ databaseUrl: s.databaseUrl, env: workerEnv }), startWorkerProcess({ databaseUrl: s.databaseUrl, env: workerEnv }));
			await waitFor('two workers registered', async () => (await sql()`select 1 from worker_processes`).length >= 2, 60_000, 200);

			await createChannel('hook', 'webhook', { url: fake.url, timeoutMs: 5_000 }, 50);
			const ids = await seedContacts(RECIPIENTS, '+1811');
			await seedContacts(20_000, '+1822');
			const batches: string[] = [];
			const t0 = Date.now();
			batches.push(await send(s, { contactIds: ids, content: 'Hi {{name}}', channelId: 'hook' }));
			const tag = async (t: string) => (await createTagBatch({ filter: { all: true }, operation: 'add', tags: [t] }, s.userId)).id;
			batches.push(await tag('before'));

			// Every 20 s: every connection of the app to its database is cut.
			const terminator = (async () => {
				while (!stopTerminating) {
					await sleep(20_000);
					if (stopTerminating) break;
					try {
						const r = await admin<{ n: number }[]>`
							select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity
							where datname = 'chaos_c' and pid <> pg_backend_pid()) t`;
						terminations += r[0].n;
					} catch {
						// the server is away (the outage): nothing to cut
					}
				}
			})();

			await waitFor('sending under way', () => fake.requests.length > 200, 60_000, 50);
			// One kill -9 mid-batch, started again at once.
			await s.pg.kill9();
			const killHealth = await health(web.url);
			await sleep(2_000);
			await s.pg.restart();
			await admin`select 1`.catch(() => {});
			await useAgain();

			await sleep(10_000);
			// A long outage.
			const sentBefore = fake.requests.length;
			await s.pg.kill9();
			const outageStarted = Date.now();
			const healthDuring: string[] = [];
			while (Date.now() - outageStarted < OUTAGE_MS) {
				healthDuring.push(await health(web.url));
				await sleep(5_000);
			}
			const aliveDuring = children.filter((c) => c.alive()).length;
			await s.pg.restart();
			const back = Date.now();
			await useAgain();
			const resumedAt = await waitFor('requests after the outage', () => (fake.requests.length > sentBefore && fake.requests.at(-1)!.at > back ? fake.requests.at(-1)!.at : 0), 120_000, 50);
			const healthAfter = await waitFor('health ok again', async () => ((await health(web.url)) === 'ok' ? 'ok' : ''), 60_000, 500).catch(() => 'not ok');
			// Work started after the outage runs too.
			batches.push(await retry(() => tag('after')));

			const ended = await waitFor(
				'every batch to end',
				async () => {
					const rows = await Promise.all(batches.map((b) => batchRow(b)));
					return rows.every((r) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status)) ? rows : null;
				},
				600_000,
				1_000
			);
			stopTerminating = true;
			const seconds = (Date.now() - t0) / 1000;
			const lost = await retry(() => lostItems(batches[0]));
			const underTwo = phonesUnderTwoKeys(fake.requests);
			const exited = children.filter((c) => !c.alive()).map((c) => `${c.name} ${c.pid}`);
			const [tagged] = await retry(() => sql()<{ before: number; after: number }[]>`
				select count(*) filter (where 'before' = any(tags))::int as before, count(*) filter (where 'after' = any(tags))::int as after from contacts`);

			inv.check(exited.length === 0, `processes exited: ${exited.join(', ')}`);
			inv.check(aliveDuring === children.length, `only ${aliveDuring} of ${children.length} processes alive during the outage`);
			for (const r of ended) inv.check(r.status === 'COMPLETED', `batch ${r.type} ${r.status} (${r.error ?? ''})`);
			inv.check(lost === 0, `${lost} recipients lost`);
			inv.check(ended[0].processed_count === RECIPIENTS && ended[0].success_count === RECIPIENTS, `send processed ${ended[0].processed_count}, sent ${ended[0].success_count} of ${RECIPIENTS}`);
			inv.check(underTwo === 0, `${underTwo} recipients under two keys`);
			inv.check(tagged.before === RECIPIENTS + 20_000 && tagged.after === RECIPIENTS + 20_000, `tagged ${tagged.before} / ${tagged.after}`);
			inv.check(healthDuring.length > 0 && healthDuring.every((h) => h === 'degraded'), `health during the outage: ${healthDuring.join(', ')}`);
			inv.check(healthAfter === 'ok', `health after: ${healthAfter}`);
			inv.check(resumedAt - back <= 30_000, `sending resumed ${resumedAt - back} ms after the database came back`);
			return inv.result({
				recipients: RECIPIENTS,
				seconds: round(seconds),
				terminatedConnections: terminations,
				postgresKills: 2,
				outageSeconds: OUTAGE_MS / 1000,
				healthAtKill: killHealth,
				healthDuringOutage: [...new Set(healthDuring)].join(','),
				healthAfter,
				resumeAfterOutageMs: resumedAt - back,
				stallsOver5s: stalls(fake.requests.map((r) => r.at), outageStarted, back),
				processesExited: exited.length,
				batches: ended.map((r) => `${r.type}:${r.status}`).join(' '),
				lost,
				sent: ended[0].success_count,
				unknown: ended[0].unknown_count,
				phonesUnderTwoKeys: underTwo,
				resentSameKey: fake.requests.length - new Set(fake.requests.map((r) => r.idempotencyKey)).size
			});
		} finally {
			stopTerminating = true;
			for (const c of children) c.kill('SIGKILL');
			await Promise.all(children.map((c) => c.exited));
			await admin.end({ timeout: 1 }).catch(() => {});
			await fake.close();
			await s.pg.stop();
		}
	}
});

/** Gaps of more than 5 s between requests at the provider, outside the outage (ms each). */
function stalls(times: number[], outageFrom: number, outageTo: number): number[] {
	const t = [...times].sort((a, b) => a - b);
	const out: number[] = [];
	for (let i = 1; i < t.length; i++) {
		const gap = t[i] - t[i - 1];
		const inOutage = t[i - 1] <= outageTo && t[i] >= outageFrom;
		if (gap > 5_000 && !inOutage) out.push(gap);
	}
	return out;
}

/** Our own pool's connections died with the server: a statement that meets one is tried again. */
async function retry<T>(fn: () => Promise<T>, times = 20): Promise<T> {
	for (let i = 0; ; i++) {
		try {
			return await fn();
		} catch (e) {
			if (i >= times) throw e;
			await sleep(500);
		}
	}
}

async function useAgain() {
	await retry(() => sql()`select 1`);
}
