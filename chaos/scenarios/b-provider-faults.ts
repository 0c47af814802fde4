/**
 * b. A provider that misbehaves, over 5 000 recipients of an unpaced webhook send capped
 * at 200/s: 10% of requests answered 429 with Retry-After 1–3 s, 5% 500, 2% accepted and
 * then held 30 s (longer than the channel's 5 s timeout), 1% reset. No recipient counted
 * sent unless the provider answered it 200; the cap never exceeded at the provider in
 * any second; nobody lost; nobody reached under two keys.
 */
import { defineScenario, invariants, round, startFakeProvider, startWorkerProcess, waitFor, type Behaviour, type Child } from '../lib';
import { batchRow, createChannel, itemCounts, lostItems, seedContacts, sql } from '../lib/db';
import { maxPerSecond, phonesUnderTwoKeys, seeded, send, stage } from '../worker-faults';

const RECIPIENTS = Number(process.env.CHAOS_B_RECIPIENTS ?? 5_000);
const CAP = 200;

export default defineScenario({
	name: `provider fault mix over ${RECIPIENTS} recipients (10% 429 + Retry-After 1–3 s, 5% 500, 2% accept-then-hang 30 s, 1% reset), cap ${CAP}/s`,
	async run() {
		const inv = invariants();
		const s = await stage('chaos_b');
		const rnd = seeded(0xb0b);
		/** Per key, the answers the provider gave: only an ok may make its recipient sent. */
		const okKeys = new Set<string>();
		const mix = { ok: 0, r429: 0, r500: 0, hang: 0, reset: 0 };
		const fake = await startFakeProvider((_n, req) => {
			const x = rnd();
			let b: Behaviour;
			if (x < 0.1) {
				mix.r429++;
				b = { kind: 'status', status: 429, retryAfter: String(1 + Math.floor(rnd() * 3)) };
			} else if (x < 0.15) {
				mix.r500++;
				b = { kind: 'status', status: 500 };
			} else if (x < 0.17) {
				mix.hang++;
				b = { kind: 'delay', ms: 30_000 };
			} else if (x < 0.18) {
				mix.reset++;
				b = { kind: 'reset' };
			} else {
				mix.ok++;
				b = { kind: 'delay', ms: 5 };
			}
			// An ok answers (the others misbehave before answering 200).
			if (b.kind === 'delay' && b.ms < 1_000 && req.idempotencyKey) okKeys.add(req.idempotencyKey);
			return b;
		});
		const workers: Child[] = [];
		try {
			const env = { WORKER_CONCURRENCY: '4', LOG_LEVEL: 'warn', SEND_RETRY_BASE_MS: '500' };
			workers.push(startWorkerProcess({ databaseUrl: s.databaseUrl, env }), startWorkerProcess({ databaseUrl: s.databaseUrl, env }));
			await waitFor('two workers registered', async () => (await sql()`select 1 from worker_processes`).length >= 2, 60_000, 200);
			// The breaker judges refusals; this mix is a provider under strain, not an outage.
			await createChannel('hook', 'webhook', { url: fake.url, timeoutMs: 5_000 }, CAP);
			const ids = await seedContacts(RECIPIENTS, '+1833');
			const t0 = Date.now();
			const batchId = await send(s, { contactIds: ids, content: 'Hello {{name}}', channelId: 'hook' });
			const b = await waitFor(
				'the batch to end',
				async () => {
					const r = await batchRow(batchId);
					if (r.status === 'PAUSED') throw new Error(`paused: ${r.error}`);
					return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.status) ? r : null;
				},
				600_000,
				500
			);
			const seconds = (Date.now() - t0) / 1000;
			const items = await itemCounts(batchId);
			const lost = await lostItems(batchId);
			const sentKeys = await sql()<{ key: string }[]>`
				select ${batchId}::text || ':' || id::text as key from batch_items where batch_id = ${batchId} and status = 'sent'`;
			const sentWithoutOk = sentKeys.filter((r) => !okKeys.has(r.key)).length;
			const maxPer1s = maxPerSecond(fake.requests.map((r) => r.at));
			const underTwo = phonesUnderTwoKeys(fake.requests);
			const workersExited = workers.filter((w) => !w.alive()).length;

			inv.check(b.status === 'COMPLETED', `batch ${b.status} (${b.error ?? ''})`);
			inv.check(lost === 0, `${lost} lost`);
			inv.check(b.processed_count === RECIPIENTS, `processed ${b.processed_count} of ${RECIPIENTS}`);
			inv.check(sentWithoutOk === 0, `${sentWithoutOk} recipients counted sent without a 200 (e.g. a 429 counted sent)`);
			inv.check(maxPer1s <= CAP, `the provider saw ${maxPer1s} requests in one second (cap ${CAP})`);
			inv.check(underTwo === 0, `${underTwo} recipients under two keys`);
			inv.check(workersExited === 0, `${workersExited} workers exited`);
			return inv.result({
				recipients: RECIPIENTS,
				seconds: round(seconds),
				requests: fake.requests.length,
				answers: mix,
				items,
				sent: b.success_count,
				failed: b.failed_count,
				unknown: b.unknown_count,
				lost,
				sentWithoutOk,
				capPerSecond: CAP,
				maxPer1s,
				phonesUnderTwoKeys: underTwo
			});
		} finally {
			for (const w of workers) w.kill('SIGKILL');
			await Promise.all(workers.map((w) => w.exited));
			await fake.close();
			await s.pg.stop();
		}
	}
});

