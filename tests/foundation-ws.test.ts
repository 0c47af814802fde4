/**
 * The tRPC WebSocket over a real socket: an http.Server whose 'upgrade' goes to the
 * app's handleUpgrade (as server.js and the Vite plugin do). Origin check, credential
 * checks (token in connectionParams, session cookie from the browser), and a
 * batch.onUpdate round trip triggered by publishBatchUpdate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import superjson from 'superjson';
import { createTRPCClient, createWSClient, wsLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../src/lib/server/trpc/router';
import { handleUpgrade, wsServer } from '../src/lib/server/trpc/ws';
import { createApiToken, revokeApiToken } from '../src/lib/server/auth/tokens';
import { createSession, SESSION_COOKIE } from '../src/lib/server/auth/sessions';
import { publishBatchUpdate } from '../src/lib/server/events/publish';
import { eq } from 'drizzle-orm';
import { db } from '../src/lib/server/db/client';
import { batchOperations } from '../src/lib/server/db/schema';
import { userCaller, waitFor } from './helpers';

let server: http.Server;
let base: string;

beforeAll(async () => {
	server = http.createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	wsServer().close();
	await new Promise((r) => server.close(r));
});

/** Opens a raw socket; resolves with 'open' or the HTTP status of a refused handshake. */
function rawConnect(path: string, headers: Record<string, string> = {}): Promise<{ opened: boolean; status?: number; ws: WebSocket }> {
	return new Promise((resolve) => {
		const ws = new WebSocket(`${base}${path}`, { headers });
		ws.once('open', () => resolve({ opened: true, ws }));
		ws.once('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode, ws }));
		ws.once('error', () => resolve({ opened: false, ws }));
	});
}

/** A tRPC client over ws, as a Node script (token) or as a browser (cookie + Origin) would connect. */
function client(opts: { token?: string; cookie?: string; origin?: string } = {}) {
	const headers: Record<string, string> = {};
	if (opts.cookie) headers.cookie = `${SESSION_COOKIE}=${opts.cookie}`;
	if (opts.origin) headers.origin = opts.origin;
	class HeaderWebSocket extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols, { headers });
		}
	}
	const ws = createWSClient({
		url: `${base}/api/trpc-ws`,
		WebSocket: HeaderWebSocket as unknown as typeof globalThis.WebSocket,
		connectionParams: opts.token ? async () => ({ token: opts.token! }) : undefined,
		retryDelayMs: () => 60_000
	});
	const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws, transformer: superjson })] });
	return { trpc, close: () => ws.close() };
}

type Update = { type: string; data: { id: string; status: string; processedCount: number; totalCount: number } };

/** Subscribes and collects events (tracked() wraps each as {id, data}) or the error. */
function watch(trpc: ReturnType<typeof client>['trpc'], batchId?: string) {
	const events: Update[] = [];
	let error: unknown;
	const sub = trpc.batch.onUpdate.subscribe(batchId ? { batchId } : {}, {
		onData: (d: unknown) => {
			const ev = (d && typeof d === 'object' && 'data' in d && 'id' in d ? (d as { data: unknown }).data : d) as Update;
			events.push(ev);
		},
		onError: (e) => (error = e)
	});
	return { events, error: () => error, stop: () => sub.unsubscribe() };
}

async function newBatch() {
	const { user } = await userCaller('operator');
	const [row] = await db()
		.insert(batchOperations)
		.values({ type: 'TAG', status: 'PENDING', totalCount: 10, createdBy: user.id })
		.returning({ id: batchOperations.id });
	return row.id;
}

describe('ws handshake', () => {
	it('refuses a foreign Origin with 403', async () => {
		const r = await rawConnect('/api/trpc-ws', { origin: 'https://evil.example' });
		expect(r.opened).toBe(false);
		expect(r.status).toBe(403);
		const bad = await rawConnect('/api/trpc-ws', { origin: 'not a url' });
		expect(bad.status).toBe(403);
	});

	it('accepts the app’s own Origin and scripts without one', async () => {
		const host = new URL(base).host;
		const same = await rawConnect('/api/trpc-ws', { origin: `http://${host}` });
		expect(same.opened).toBe(true);
		same.ws.close();
		const script = await rawConnect('/api/trpc-ws');
		expect(script.opened).toBe(true);
		script.ws.close();
	});

	it('does not take other paths', async () => {
		const r = await rawConnect('/somewhere-else');
		expect(r.opened).toBe(false);
	});
});

describe('ws credentials', () => {
	it('refuses a subscription without credentials with UNAUTHORIZED', async () => {
		const c = client();
		const w = watch(c.trpc);
		await waitFor(() => w.error());
		expect(w.error()).toBeInstanceOf(TRPCClientError);
		expect((w.error() as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
		expect(w.events).toEqual([]);
		c.close();
	});

	it('refuses a malformed or revoked token in connectionParams', async () => {
		const { user } = await userCaller('viewer');
		const t = await createApiToken(user.id, 'ws');
		await revokeApiToken(user.id, t.id);
		for (const token of ['garbage', t.token]) {
			const c = client({ token });
			const w = watch(c.trpc);
			await waitFor(() => w.error());
			expect((w.error() as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
			c.close();
		}
	});

	it('ignores a session cookie sent without an Origin (scripts must use a token)', async () => {
		const { user } = await userCaller('viewer');
		const s = await createSession(user.id);
		const c = client({ cookie: s.token });
		const w = watch(c.trpc);
		await waitFor(() => w.error());
		expect((w.error() as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
		c.close();
	});
});

describe('batch.onUpdate over ws', () => {
	it('streams a snapshot and then live updates to a token holder', async () => {
		const batchId = await newBatch();
		const { user } = await userCaller('viewer');
		const t = await createApiToken(user.id, 'live');
		const c = client({ token: t.token });
		const w = watch(c.trpc, batchId);
		// The snapshot comes first.
		await waitFor(() => w.events.length >= 1);
		expect(w.events[0]).toMatchObject({ type: 'batch_update', data: { id: batchId, status: 'PENDING' } });

		await db().update(batchOperations).set({ status: 'PROCESSING', processedCount: 4 }).where(eqId(batchId));
		await publishBatchUpdate(batchId, { statusChange: true });
		await waitFor(() => w.events.some((e) => e.data.status === 'PROCESSING'));
		const ev = w.events.find((e) => e.data.status === 'PROCESSING')!;
		expect(ev).toMatchObject({ type: 'batch_update', data: { id: batchId, processedCount: 4, totalCount: 10 } });
		expect(w.error()).toBeUndefined();
		w.stop();
		c.close();
	});

	it('works for a browser: session cookie with the app’s Origin, all batches', async () => {
		const { user } = await userCaller('viewer');
		const s = await createSession(user.id);
		const c = client({ cookie: s.token, origin: `http://${new URL(base).host}` });
		const w = watch(c.trpc);
		// Let the subscription start before the batch appears.
		await new Promise((r) => setTimeout(r, 300));
		expect(w.error()).toBeUndefined();
		const batchId = await newBatch();
		await db().update(batchOperations).set({ status: 'PROCESSING' }).where(eqId(batchId));
		await publishBatchUpdate(batchId, { statusChange: true });
		await waitFor(() => w.events.some((e) => e.data.id === batchId && e.data.status === 'PROCESSING'));
		w.stop();
		c.close();
	});

	it('refuses an unknown batch with NOT_FOUND, not a 500', async () => {
		const { user } = await userCaller('viewer');
		const t = await createApiToken(user.id, 'nf');
		const c = client({ token: t.token });
		const w = watch(c.trpc, '00000000-0000-4000-8000-000000000000');
		await waitFor(() => w.error());
		expect((w.error() as TRPCClientError<AppRouter>).data?.code).toBe('NOT_FOUND');
		c.close();
	});
});

function eqId(id: string) {
	return eq(batchOperations.id, id);
}
