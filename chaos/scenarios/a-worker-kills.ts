/**
 * a. kill -9 of a worker every 5–15 s during a 10 000-recipient webhook send at
 * 6 000/min, two workers (a killed one is started again at once, as `npm start` does),
 * 20 kills: nobody lost, nobody reached under two idempotency keys, no unknown
 * (the webhook deduplicates by key, so a send in flight at a kill is sent again under
 * its key), and after each kill the provider hears the next request within 60 s.
 */
import { defineScenario, invariants, round, sleep, startFakeProvider, startWorkerProcess, waitFor, type Child } from '../lib';
import { batchRow, createChannel, itemCounts, lostItems, seedContacts, sql } from '../lib/db';
import { phonesUnderTwoKeys, seeded, send, stage } from '../worker-faults';

const RECIPIENTS = Number(process.env.CHAOS_A_RECIPIENTS ?? 10_000);
const RATE_PER_MINUTE = 6_000;
const KILLS = Number(process.env.CHAOS_A_KILLS ?? 20);

export default defineScenario({
	name: `kill -9 of a worker every 5–15 s during a ${RECIPIENTS}-recipient webhook send at ${RATE_PER_MINUTE}/min, 2 workers, ${KILLS} kills`,
	async run() {
		const inv = invariants();
		const s = await stage('chaos_a');
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 5 }));
		const workerEnv = { WORKER_CONCURRENCY: '4', LOG_LEVEL: 'warn' };
		const workers: Child[] = [];
		const spawn = () => {
			const w = startWorkerProcess({ databaseUrl: s.databaseUrl, env: workerEnv });
			workers.push(w);
			return w;
		};
		try {
			let live = [spawn(), spawn()];
			await waitFor('two workers registered', async () => (await sql()`select 1 from worker_processes`).length >= 2, 60_000, 200);
			await createChannel('hook', 'webhook', { url: fake.url, timeoutMs: 5_000 }, 500);
			const ids = await seedContacts(RECIPIENTS, '+1800');
			const started = Date.now();
			const batchId = await send(s, { contactIds: ids, content: 'Hello {{name}}', channelId: 'hook', ratePerMinute: RATE_PER_MINUTE });
			await waitFor('first request', () => fake.requests.length > 0, 60_000, 50);

			const rnd = seeded(0xa11);
			const resumes: number[] = [];
			const inFlightAtKills: number[] = [];
			let kills = 0;
			// Every 5–15 s, drawn within what the send has left: at 6 000/min the 10 000 sends
			// last about 100 s plus the resumes, which 20 kills 10 s apart on average would
			// outlast (a run of 5–15 s draws got 14 kills in before the end).
			const gapMs = async () => {
				const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${batchId} and status in ('pending', 'sending')`;
				const leftMs = (n / RATE_PER_MINUTE) * 60_000;
				const spread = Math.min(10_000, Math.max(0, leftMs / Math.max(1, KILLS - kills) - 5_000));
				return 5_000 + rnd() * spread;
			};
			let nextKillAt = Date.now() + (await gapMs());
			while (kills < KILLS && (await batchRow(batchId)).status === 'PROCESSING') {
				await sleep(Math.max(0, nextKillAt - Date.now()));
				if ((await batchRow(batchId)).status !== 'PROCESSING') break;
				const victim = live[Math.floor(rnd() * live.length)];
				const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${batchId} and status = 'sending'`;
				inFlightAtKills.push(n);
				victim.kill('SIGKILL');
				await victim.exited;
				const killedAt = Date.now();
				nextKillAt = killedAt + (await gapMs());
				const before = fake.requests.length;
				kills++;
				live = [...live.filter((w) => w !== victim), spawn()];
				// The next request after the kill, from whichever worker carries on.
				const resumedAt = await waitFor(
					`requests again after kill ${kills}`,
					async () => (fake.requests.length > before ? fake.requests[before].at : (await batchRow(batchId)).status !== 'PROCESSING' ? killedAt : 0),
					120_000,
					20
				);
				resumes.push(resumedAt - killedAt);
			}
			await waitFor('the batch to end', async () => ['COMPLETED', 'FAILED', 'CANCELLED'].includes((await batchRow(batchId)).status), 600_000, 500);
			const seconds = (Date.now() - started) / 1000;
			const b = await batchRow(batchId);
			const items = await itemCounts(batchId);
			const lost = await lostItems(batchId);
			const underTwo = phonesUnderTwoKeys(fake.requests);
			const keys = new Set(fake.requests.map((r) => r.idempotencyKey)).size;
			const resendsSameKey = fake.requests.length - keys;
			const maxResumeMs = resumes.length ? Math.max(...resumes) : 0;
			const exitedOther = workers.filter((w) => !w.alive()).length - kills;

			inv.check(kills === KILLS, `${kills} kills of ${KILLS} before the send ended`);
			inv.check(b.status === 'COMPLETED', `batch ${b.status} (${b.error ?? ''})`);
			inv.check(lost === 0, `${lost} recipients lost (pending/sending at the end)`);
			inv.check(b.processed_count === RECIPIENTS, `processed ${b.processed_count} of ${RECIPIENTS}`);
			inv.check(keys === RECIPIENTS, `${keys} distinct keys reached the provider for ${RECIPIENTS} recipients`);
			inv.check(underTwo === 0, `${underTwo} recipients reached under two keys`);
			inv.check((b.unknown_count ?? 0) === 0, `${b.unknown_count} unknown on a deduplicating channel`);
			inv.check(b.success_count === RECIPIENTS, `sent ${b.success_count} of ${RECIPIENTS}`);
			inv.check(maxResumeMs <= 60_000, `a resume took ${maxResumeMs} ms`);
			inv.check(exitedOther === 0, `${exitedOther} workers exited without being killed`);
			return inv.result({
				recipients: RECIPIENTS,
				ratePerMinute: RATE_PER_MINUTE,
				kills,
				seconds: round(seconds),
				lost,
				sent: b.success_count,
				unknown: b.unknown_count,
				items,
				phonesUnderTwoKeys: underTwo,
				requests: fake.requests.length,
				resentSameKey: resendsSameKey,
				maxInFlightAtKill: inFlightAtKills.length ? Math.max(...inFlightAtKills) : 0,
				resumeMsMax: maxResumeMs,
				resumeMsMean: resumes.length ? Math.round(resumes.reduce((x, y) => x + y, 0) / resumes.length) : 0
			});
		} finally {
			for (const w of workers) if (w.alive()) w.kill('SIGKILL');
			await Promise.all(workers.map((w) => w.exited));
			await fake.close();
			await s.pg.stop();
		}
	}
});
