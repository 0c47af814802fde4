/**
 * batch.onUpdate over a REAL WebSocket: a ws server routed by handleUpgrade, a typed
 * Node client authenticated with an API token, and updates published by a SEPARATE
 * process (its own database connection), received through this process's one LISTEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { sql as dsql } from 'drizzle-orm';
import { db } from '../src/lib/server/db/client';
import { createTagBatch } from '../src/lib/server/bulk/create';
import { batchOperations } from '../src/lib/server/db/schema';
import { handleUpgrade, wsServer } from '../src/lib/server/trpc/ws';
import { createApiToken } from '../src/lib/server/auth/tokens';
import { createBatchdeskClient } from '../src/lib/trpc/node-client';
import { stopBus } from '../src/lib/server/events/bus';
import { userCaller, waitFor } from './helpers';

type Ev = { type: string; data: { id: string; status: string; processedCount: number }; timestamp: number };

let server: http.Server;
let url: string;
let acceptUpgrades = true;

beforeAll(async () => {
	server = http.createServer((_, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!acceptUpgrades || !handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	wsServer().close();
	await stopBus();
	await new Promise((r) => server.close(r));
});

async function tokenFor(role: 'viewer' | 'operator') {
	const { user } = await userCaller(role);
	return { user, token: (await createApiToken(user.id, 'live test')).token };
}

async function newBatch(createdBy: number, total = 5) {
	const [row] = await db().insert(batchOperations).values({ type: 'TAG', totalCount: total, createdBy }).returning();
	return row.id;
}

function publisher(batchId: string, steps: number, stepMs: number) {
	const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/live-publisher.ts', batchId, String(steps), String(stepMs)], {
		env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL },
		stdio: ['ignore', 'inherit', 'inherit']
	});
	return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
}

function collect(client: ReturnType<typeof createBatchdeskClient>['client'], input: { batchId?: string }) {
	const events: Ev[] = [];
	const errors: Array<{ data?: { code?: string } }> = [];
	const sub = client.batch.onUpdate.subscribe(input, {
		onData: (d) => events.push((d as { data: Ev }).data),
		onError: (e) => errors.push(e as never)
	});
	return { events, errors, stop: () => sub.unsubscribe() };
}

describe('batch.onUpdate over ws', () => {
	it('sends a snapshot first, then events published by another process, through to COMPLETED', async () => {
		const { user, token } = await tokenFor('viewer');
		const batchId = await newBatch(user.id);
		const bd = createBatchdeskClient({ url, token });
		const one = collect(bd.client, { batchId });
		const all = collect(bd.client, {});
		try {
			await waitFor(() => one.events.length >= 1 && all.events.some((e) => e.data.id === batchId));
			expect(one.events[0]).toMatchObject({ type: 'batch_update', data: { id: batchId, status: 'PENDING' } });
			expect(typeof one.events[0].timestamp).toBe('number');

			expect(await publisher(batchId, 5, 120)).toBe(0);
			await waitFor(() => one.events.some((e) => e.data.status === 'COMPLETED'));
			await waitFor(() => all.events.some((e) => e.data.id === batchId && e.data.status === 'COMPLETED'));
			const statuses = one.events.map((e) => e.data.status);
			expect(statuses).toContain('PROCESSING');
			// Progress never goes backwards.
			const processed = one.events.map((e) => e.data.processedCount);
			expect([...processed].sort((a, b) => a - b)).toEqual(processed);
			expect(one.events.at(-1)!.data).toMatchObject({ status: 'COMPLETED', processedCount: 5, progress: 100 });
			// Timestamps arrive as Dates (superjson), as batch.status gives them.
			expect((one.events.at(-1)!.data as unknown as { completedAt: unknown }).completedAt).toBeInstanceOf(Date);
			expect(one.errors).toEqual([]);
		} finally {
			one.stop();
			all.stop();
			bd.close();
		}
	});

	it('follows a TAG batch run by a real worker child process to COMPLETED', async () => {
		const { user, token } = await tokenFor('operator');
		const ids: number[] = [];
		for (let i = 0; i < 30; i++) {
			const [c] = await db().execute<{ id: string }>(
				dsql`insert into contacts (phone_e164, tags) values (${`+1444${String(i).padStart(7, '0')}`}, '{}') returning id`
			);
			ids.push(Number(c.id));
		}
		const worker = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
			env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL },
			stdio: ['ignore', 'ignore', 'inherit']
		});
		const bd = createBatchdeskClient({ url, token });
		const all = collect(bd.client, {});
		try {
			await waitFor(() => all.events.length >= 0 && wsServer().wss.clients.size > 0);
			const batch = await createTagBatch({ contactIds: ids, tags: ['live'], operation: 'add' }, user.id);
			await waitFor(() => all.events.some((e) => e.data.id === batch.id && e.data.status === 'COMPLETED'), 30_000);
			expect(all.events.filter((e) => e.data.id === batch.id).at(-1)!.data).toMatchObject({ processedCount: 30, status: 'COMPLETED' });
		} finally {
			all.stop();
			bd.close();
			worker.kill('SIGTERM');
			await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
		}
	});

	it('resumes after a dropped connection without losing the terminal event', async () => {
		const { user, token } = await tokenFor('operator');
		const batchId = await newBatch(user.id, 3);
		const bd = createBatchdeskClient({ url, token });
		const one = collect(bd.client, { batchId });
		try {
			await waitFor(() => one.events.length >= 1);
			// Drop every connection and refuse new ones while the batch runs to its end.
			acceptUpgrades = false;
			for (const c of wsServer().wss.clients) c.terminate();
			expect(await publisher(batchId, 3, 50)).toBe(0);
			expect(one.events.some((e) => e.data.status === 'COMPLETED')).toBe(false);
			acceptUpgrades = true;
			await waitFor(() => one.events.some((e) => e.data.status === 'COMPLETED'), 20_000);
			expect(one.events.at(-1)!.data).toMatchObject({ status: 'COMPLETED', processedCount: 3 });
		} finally {
			acceptUpgrades = true;
			one.stop();
			bd.close();
		}
	});

	it('refuses an unauthenticated socket and an unknown batch id', async () => {
		const anon = createBatchdeskClient({ url, token: 'bd_tok_not-a-real-token' });
		const a = collect(anon.client, {});
		const { token } = await tokenFor('viewer');
		const bd = createBatchdeskClient({ url, token });
		const missing = collect(bd.client, { batchId: '00000000-0000-4000-8000-000000000000' });
		try {
			await waitFor(() => a.errors.length > 0 && missing.errors.length > 0);
			expect(a.errors[0].data?.code).toBe('UNAUTHORIZED');
			expect(a.events).toEqual([]);
			expect(missing.errors[0].data?.code).toBe('NOT_FOUND');
		} finally {
			a.stop();
			missing.stop();
			anon.close();
			bd.close();
		}
	});
});
