/**
 * h. Load: 200 WebSocket subscribers to a batch's live updates and 100 reads a second
 * (batch.get, batch.status, batch.list, contacts.list, each its own HTTP request) for
 * 2 minutes, while a 100 000-recipient sandbox send runs on a worker process (on a
 * sandbox channel capped at 850 messages/s, so that the send lasts the 2 minutes). No read
 * or subscription may fail, reads must answer with p95 < 50 ms, every subscriber must
 * see the batch end, and the send must finish with lost 0.
 * CHAOS_LOAD_SECONDS shortens the load phase (a quick try; the README's figures use 120).
 */
import { defineScenario, invariants, percentile, round, sleep, waitFor } from '../lib/scenario';
import { startStack, trpcQuery } from '../lib/stack';
import { apiClient } from '../lib/api';
import { batchRow, createChannel, itemCounts, lostItems, seedContacts } from '../lib/db';

const RECIPIENTS = 100_000;
const SUBSCRIBERS = 200;
const READS_PER_SECOND = 100;
const SEND_RATE_PER_SECOND = 850;

export default defineScenario({
	name: '200 live subscribers and 100 reads/s during a 100 000-recipient send',
	async run() {
		const seconds = Number(process.env.CHAOS_LOAD_SECONDS ?? 120);
		const [load1] = (await import('node:os')).loadavg();
		const inv = invariants();
		// CHAOS_WEB_POOL: another pool size for the web process (server.js makes it 30 unless DB_POOL_MAX is set).
		const webPool = process.env.CHAOS_WEB_POOL ?? process.env.DB_POOL_MAX ?? '30';
		// Its 200 sockets are one user on one address: the per-user and per-address socket
		// limits (WS_*, 20 and 60/min by default) are raised as an operator running such a
		// dashboard wall would (bench:live does the same).
		const stack = await startStack({
			workers: 1,
			webEnv: {
				WS_MAX_SOCKETS_PER_USER: String(SUBSCRIBERS + 10),
				WS_CONNECTS_PER_MINUTE: String(SUBSCRIBERS * 10),
				...(process.env.CHAOS_WEB_POOL ? { DB_POOL_MAX: process.env.CHAOS_WEB_POOL } : {})
			}
		});
		const clients: Array<ReturnType<typeof apiClient>> = [];
		try {
			const { url } = stack.web;
			const token = stack.token;
			const ids = await seedContacts(RECIPIENTS, '+1970');
			const api = apiClient(url, token);
			clients.push(api);

			// The send is created first; subscribers attach to it; then the clock of the load starts.
			await createChannel('loadbox', 'sandbox', { latencyMs: 0, failureRate: 0 }, SEND_RATE_PER_SECOND);
			const batch = await api.client.batch.send.mutate({ filter: { search: '+1970' }, content: 'Hello {{name}}', channelId: 'loadbox' });
			const subs = Array.from({ length: SUBSCRIBERS }, () => ({ events: 0, errors: 0, sawEnd: false, lastError: '' }));
			const unsubscribers: Array<() => void> = [];
			for (const s of subs) {
				const c = apiClient(url, token);
				clients.push(c);
				const sub = c.client.batch.onUpdate.subscribe(
					{ batchId: batch.id },
					{
						onData: (e: unknown) => {
							s.events++;
							const status = (e as { data?: { data?: { status?: string } } })?.data?.data?.status ?? JSON.stringify(e).match(/"status":"(\w+)"/)?.[1];
							if (status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED') s.sawEnd = true;
						},
						onError: (err: unknown) => {
							s.errors++;
							s.lastError = String(err);
						}
					}
				);
				unsubscribers.push(() => sub.unsubscribe());
			}
			await waitFor('every subscriber to get its first event', () => subs.every((s) => s.events > 0), 60_000, 100);

			const reads: Array<{ ms: number; status: number; what: string; at: number }> = [];
			const procedures = [
				['batch.get', () => ({ batchId: batch.id })],
				['batch.status', () => ({ batchId: batch.id })],
				['batch.list', () => ({ limit: 20 })],
				// The first 20 pages, as people page through a list (deep OFFSET pages cost what they cost: ~70 ms at 50 000).
				['contacts.list', () => ({ limit: 50, offset: Math.floor(Math.random() * 20) * 50 })]
			] as const;
			const pending: Promise<void>[] = [];
			// This process (the 200 subscribers and the reads) shares the 2 cores: its own delay is part of what it measures.
			const { monitorEventLoopDelay } = await import('node:perf_hooks');
			const lag = monitorEventLoopDelay({ resolution: 20 });
			lag.enable();
			const t0 = performance.now();
			let n = 0;
			let maxRss = 0;
			let maxWorkerRss = 0;
			while (performance.now() - t0 < seconds * 1000) {
				// Open loop: requests leave on schedule whether or not earlier ones have answered.
				const due = t0 + (n * 1000) / READS_PER_SECOND;
				const wait = due - performance.now();
				if (wait > 0) await sleep(wait);
				const [what, input] = procedures[n % procedures.length];
				const at = performance.now() - t0;
				pending.push(trpcQuery(url, token, what, input()).then((r) => void reads.push({ ...r, what, at })));
				n++;
				if (n % 100 === 0) {
					maxRss = Math.max(maxRss, stack.web.rssMb() ?? 0);
					maxWorkerRss = Math.max(maxWorkerRss, stack.workers[0].rssMb() ?? 0);
				}
			}
			await Promise.all(pending);
			lag.disable();
			const loadSeconds = (performance.now() - t0) / 1000;
			const duringLoad = await batchRow(batch.id);

			await waitFor('the send to finish', async () => ['COMPLETED', 'FAILED'].includes((await batchRow(batch.id)).status), 900_000, 500);
			const end = await batchRow(batch.id);
			await waitFor('every subscriber to see the end', () => subs.every((s) => s.sawEnd), 30_000, 200).catch(() => {});
			for (const u of unsubscribers) u();
			const lost = await lostItems(batch.id);
			const counts = await itemCounts(batch.id);

			const ms = reads.map((r) => r.ms);
			const failedReads = reads.filter((r) => r.status !== 200).length;
			const p95 = percentile(ms, 95);
			const subErrors = subs.reduce((t, s) => t + s.errors, 0);
			const sawEnd = subs.filter((s) => s.sawEnd).length;
			inv.check(failedReads === 0, `${failedReads} reads failed`);
			inv.check(p95 < 50, `reads p95 ${round(p95)} ms`);
			inv.check(subErrors === 0, `${subErrors} subscription errors (${subs.find((s) => s.errors)?.lastError})`);
			inv.check(sawEnd === SUBSCRIBERS, `${sawEnd} of ${SUBSCRIBERS} subscribers saw the batch end`);
			inv.check(end.status === 'COMPLETED' && lost === 0 && counts.sent === RECIPIENTS, `send ended ${end.status}, ${JSON.stringify(counts)}, lost ${lost}`);
			inv.check(stack.web.alive() && stack.workers[0].alive(), 'a process died');
			const byWhat = Object.fromEntries(procedures.map(([w]) => [w, round(percentile(reads.filter((r) => r.what === w).map((r) => r.ms), 95))]));
			return inv.result({
				recipients: ids.length,
				subscribers: SUBSCRIBERS,
				loadSeconds: round(loadSeconds),
				reads: reads.length,
				readsPerSecond: round(reads.length / loadSeconds),
				failedReads,
				failedReadStatuses: [...new Set(reads.filter((r) => r.status !== 200).map((r) => r.status))].join(',') || 'none',
				readP50Ms: round(percentile(ms, 50)),
				readP95Ms: round(p95),
				readP99Ms: round(percentile(ms, 99)),
				readP95MsBy: byWhat,
				readP95MsPer20s: Array.from({ length: Math.ceil(seconds / 20) }, (_, i) => round(percentile(reads.filter((r) => r.at >= i * 20_000 && r.at < (i + 1) * 20_000).map((r) => r.ms), 95))),
				sendRatePerSecond: SEND_RATE_PER_SECOND,
				webDbPoolMax: Number(webPool),
				subscriptionErrors: subErrors,
				eventsPerSubscriberMedian: percentile(subs.map((s) => s.events), 50),
				subscribersSawEnd: sawEnd,
				sentWhenLoadEnded: duringLoad.success_count,
				sendStatus: end.status,
				lost,
				webMaxRssMb: round(maxRss),
				workerMaxRssMb: round(maxWorkerRss),
				// What else the machine was doing (2 cores): the run's figures mean little when this is far above 2.
				machineLoadAverageAtStart: round(load1),
				runnerEventLoopLagP99Ms: round(lag.percentile(99) / 1e6)
			});
		} finally {
			for (const c of clients) c.close();
			await stack.stop();
		}
	}
});
