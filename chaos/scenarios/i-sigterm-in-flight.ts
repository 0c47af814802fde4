/**
 * i. SIGTERM with sends in flight: `npm start` (scripts/start.ts) runs a webhook send
 * whose provider answers in 300 ms; SIGTERM goes to its whole process group (as Ctrl-C
 * or a service manager sends it). The app must exit within 10 s with no item left
 * claimed (the worker finished its in-flight sends while the database was still up),
 * and the next start must finish the batch with every recipient reached once (lost 0).
 */
import path from 'node:path';
import { defineScenario, invariants, round, waitFor } from '../lib/scenario';
import { startApp, pidAlive, type App } from '../lib/app';
import { apiClient } from '../lib/api';
import { batchRow, claimedItems, createChannel, itemCounts, lostItems, seedContacts, useDatabase, userWithToken } from '../lib/db';
import { startPostgres } from '../lib/postgres';
import { startFakeProvider } from '../lib/provider';

const RECIPIENTS = 3000;

export default defineScenario({
	name: 'SIGTERM to npm start with sends in flight',
	async run() {
		const inv = invariants();
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 300 }));
		const apps: App[] = [];
		try {
			const a = await startApp({ env: { LOG_LEVEL: 'info' } });
			apps.push(a);
			await useDatabase(a.databaseUrl);
			const { token } = await userWithToken('operator');
			await createChannel('slowhook', 'webhook', { url: fake.url }, 200);
			const ids = await seedContacts(RECIPIENTS, '+1990');
			const api = apiClient(a.url, token);
			const batch = await api.client.batch.send.mutate({ contactIds: ids, content: 'x', channelId: 'slowhook' });
			api.close();
			await waitFor('the first 300 provider requests', () => fake.requests.length >= 300, 120_000, 20);
			const inFlight = fake.load.inFlight;
			const claimedAtSignal = await claimedItems(batch.id);

			const t0 = performance.now();
			a.signalGroup('SIGTERM');
			const exit = await a.supervisor.exited;
			const exitSeconds = (performance.now() - t0) / 1000;
			const killed = a.logs(/did not stop within/).length;
			const order = a.supervisor
				.grep(/"msg":"(finishing in-flight jobs|closing)"/)
				.map((l) => JSON.parse(l).module as string);
			const pgStopped = !pidAlive(a.postmasterPid());

			// Between the runs, the database alone: what the stop left behind.
			const pg = await startPostgres({ dataDir: path.join(a.dataDir, 'pg'), port: a.pgPort });
			let claimedAfter = -1;
			let sentAtStop = -1;
			try {
				await useDatabase(a.databaseUrl);
				claimedAfter = await claimedItems(batch.id);
				sentAtStop = (await itemCounts(batch.id)).sent ?? 0;
			} finally {
				await useDatabase('postgres://unused@127.0.0.1:1/unused');
				await pg.stop();
			}
			const answeredAtStop = new Set(fake.requests.map((r) => r.idempotencyKey)).size;

			const t1 = performance.now();
			const again = await startApp({ dataDir: a.dataDir, pgPort: a.pgPort, port: a.port, env: { LOG_LEVEL: 'info' } });
			apps.push(again);
			await useDatabase(again.databaseUrl);
			await waitFor('the batch to complete after the restart', async () => (await batchRow(batch.id)).status === 'COMPLETED', 300_000, 250);
			const finishSeconds = (performance.now() - t1) / 1000;
			const lost = await lostItems(batch.id);
			const counts = await itemCounts(batch.id);
			const keys = fake.requests.map((r) => r.idempotencyKey);
			const reached = new Set(keys).size;

			inv.check(exit.code === 0 && exit.signal === null, `npm start exited with ${JSON.stringify(exit)}`);
			inv.check(exitSeconds <= 10, `exit took ${round(exitSeconds)} s (> 10 s)`);
			inv.check(killed === 0, 'a process needed SIGKILL');
			inv.check(order[0] === 'worker', `stop order was ${order.join(', ')}`);
			inv.check(pgStopped, 'PostgreSQL still running after npm start exited');
			inv.check(claimedAfter === 0, `${claimedAfter} items left claimed`);
			inv.check(sentAtStop === answeredAtStop, `${answeredAtStop} recipients reached but ${sentAtStop} recorded sent at the stop`);
			inv.check(lost === 0, `lost ${lost}`);
			inv.check(counts.sent === RECIPIENTS && reached === RECIPIENTS, `after the restart: ${JSON.stringify(counts)}, ${reached} recipients reached`);
			return inv.result({
				recipients: RECIPIENTS,
				providerRequestsInFlightAtSigterm: inFlight,
				itemsClaimedAtSigterm: claimedAtSignal,
				exitSeconds: round(exitSeconds),
				exitCode: exit.code,
				stopOrder: [...new Set(order)].join(' → ') + ' → postgres',
				itemsLeftClaimed: claimedAfter,
				sentAtStop,
				nextStartFinishedInSeconds: round(finishSeconds),
				lost,
				duplicateRequests: keys.length - reached
			});
		} finally {
			for (const a of apps.reverse()) await a.stop().catch(() => {});
			await fake.close();
		}
	}
});
