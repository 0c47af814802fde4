/**
 * `npm start` supervises (issue 11): scripts/start.ts run as a person runs it, in a
 * process group of its own. A kill -9 of its worker, its web server or its PostgreSQL
 * is a restart, not the end of the app: each comes back and a send running meanwhile
 * finishes with every recipient reached once. SIGTERM to the whole group (a terminal's
 * Ctrl-C, a service manager) stops the worker first, which finishes its in-flight sends
 * while the database is still up: nothing stays claimed and the next start finishes the batch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startApp, pidAlive, type App } from '../chaos/lib/app';
import { batchRow, claimedItems, createChannel, itemCounts, seedContacts, useDatabase, userWithToken } from '../chaos/lib/db';
import { startPostgres } from '../chaos/lib/postgres';
import { apiClient } from '../chaos/lib/api';
import { startFakeProvider } from './fake-provider';
import { waitFor as waitUntil } from '../chaos/lib/scenario';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import { spawnChild, ensureBuild } from '../chaos/lib/processes';
import { freePort } from '../scripts/lib/free-port';

const apps: App[] = [];
afterAll(async () => {
	for (const a of apps) await a.stop().catch(() => {});
});

/** The supervised app, in the data folder (and ports) of an earlier run when given. */
async function app(reuse?: App) {
	const a = await startApp({
		...(reuse ? { dataDir: reuse.dataDir, pgPort: reuse.pgPort, port: reuse.port } : {}),
		env: { WORKER_DEAD_AFTER_SECONDS: '5', SEND_RETRY_BASE_MS: '200', LOG_LEVEL: 'info' }
	});
	apps.push(a);
	await useDatabase(a.databaseUrl);
	return a;
}

describe('npm start supervises', () => {
	it('kill -9 of the worker, the web server and PostgreSQL: each comes back, and the send finishes with every recipient reached once', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 10 }));
		try {
			const a = await app();
			const { token } = await userWithToken('operator');
			await createChannel('hook', 'webhook', { url: fake.url }, 150);
			const ids = await seedContacts(3000, '+1941');
			const api = apiClient(a.url, token);
			const batch = await api.client.batch.send.mutate({ contactIds: ids, content: 'Hi {{name}}', channelId: 'hook' });
			api.close();

			await waitUntil('300 requests before the worker kill', () => fake.requests.length >= 300, 60_000, 20);
			const worker = a.pid('worker')!;
			process.kill(worker, 'SIGKILL');
			await waitUntil('the worker restarted', () => a.starts('worker') === 2 && pidAlive(a.pid('worker')), 30_000);

			await waitUntil('900 requests before the PostgreSQL kill', () => fake.requests.length >= 900, 60_000, 20);
			process.kill(a.postmasterPid()!, 'SIGKILL');
			await waitUntil('PostgreSQL back', () => a.logs(/^PostgreSQL is back$/).length === 1, 60_000);

			process.kill(a.pid('web')!, 'SIGKILL');
			await waitUntil('the web server restarted', () => a.starts('web') === 2, 30_000);
			await waitUntil('health after the web restart', async () => (await fetch(`${a.url}/api/trpc/health`)).ok, 60_000, 200);

			// The send finishes by itself.
			await waitUntil('the send to complete after the kills', async () => (await batchRow(batch.id)).status === 'COMPLETED', 240_000, 500);
			expect(await itemCounts(batch.id)).toEqual({ sent: 3000 });
			// Every recipient reached; a resend after a kill carries the same key (the receiver dedupes on it).
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(3000);
			expect(a.supervisor.alive()).toBe(true);
			expect(a.logs(/restarting it in/).map((l) => l.process).sort()).toEqual(expect.arrayContaining(['postgres', 'web', 'worker']));
			expect(a.logs(/keeps failing/)).toEqual([]);
		} finally {
			await fake.close();
		}
	}, 600_000);

	it('SIGTERM to the group with sends in flight: the worker drains before web and PostgreSQL stop, nothing stays claimed, and the next start finishes the batch', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 300 }));
		try {
			const a = await app();
			const { token } = await userWithToken('operator');
			await createChannel('slowhook', 'webhook', { url: fake.url }, 100);
			const ids = await seedContacts(2000, '+1942');
			const api = apiClient(a.url, token);
			const batch = await api.client.batch.send.mutate({ contactIds: ids, content: 'x', channelId: 'slowhook' });
			api.close();
			await waitUntil('100 requests before SIGTERM', () => fake.requests.length >= 100, 60_000, 20);

			a.signalGroup('SIGTERM');
			const exit = await a.supervisor.exited;
			expect(exit).toEqual({ code: 0, signal: null });
			// Nobody needed a SIGKILL: the worker finished in time (it gives itself 9 s).
			expect(a.logs(/did not stop within/)).toEqual([]);
			const order = a.supervisor.grep(/"msg":"(finishing in-flight jobs|closing)"/).map((l) => JSON.parse(l).module);
			expect(order[0]).toBe('worker');
			expect(pidAlive(a.postmasterPid())).toBe(false);

			// Between the two runs: nothing claimed, every request answered is recorded.
			const pg = await startPostgres({ dataDir: path.join(a.dataDir, 'pg'), port: a.pgPort });
			try {
				await useDatabase(a.databaseUrl);
				expect(await claimedItems(batch.id)).toBe(0);
				expect((await itemCounts(batch.id)).sent).toBe(new Set(fake.requests.map((r) => r.idempotencyKey)).size);
			} finally {
				await useDatabase('postgres://unused@127.0.0.1:1/unused');
				await pg.stop();
			}
			expect(fs.existsSync(path.join(a.dataDir, 'pg', 'PG_VERSION'))).toBe(true);

			const again = await app(a);
			await waitUntil('the send to complete after the restart', async () => (await batchRow(batch.id)).status === 'COMPLETED', 240_000, 500);
			expect(await itemCounts(batch.id)).toEqual({ sent: 2000 });
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(2000);
			await again.stop();
		} finally {
			await fake.close();
		}
	}, 600_000);

	it('a process that keeps failing (5 exits within a minute) stops everything, in order, with exit code 1', async () => {
		await ensureBuild();
		// The web port is taken: the web server exits at once, every time.
		const blocker = net.createServer();
		await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
		const port = (blocker.address() as net.AddressInfo).port;
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-flap-'));
		fs.chmodSync(dataDir, 0o755);
		try {
			const start = spawnChild('npm start', ['--import', 'tsx', 'scripts/start.ts'], {
				DATABASE_URL: '',
				BATCHDESK_DATA_DIR: dataDir,
				EMBEDDED_PG_PORT: String(await freePort()),
				PORT: String(port),
				HOST: '127.0.0.1',
				LOG_LEVEL: 'info',
				LOG_FORMAT: 'json'
			});
			const exit = await start.exited;
			expect(exit).toEqual({ code: 1, signal: null });
			const msgs = start.grep(/"module":"start"/).map((l) => JSON.parse(l) as { msg: string; process?: string });
			const restarts = msgs.filter((m) => m.process === 'web' && /restarting it in/.test(m.msg));
			expect(restarts).toHaveLength(4);
			expect(msgs.some((m) => /it keeps failing: stopping everything/.test(m.msg))).toBe(true);
			expect(msgs.at(-1)?.msg).toBe('stopped');
			// PostgreSQL went down with it: nothing is left running on the data folder.
			expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
		} finally {
			blocker.close();
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	}, 180_000);
});
