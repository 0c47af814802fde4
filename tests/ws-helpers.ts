/**
 * A real http.Server whose 'upgrade' goes to the app's handleUpgrade (as server.js does),
 * and a raw tRPC-over-ws client that speaks the wire protocol itself, so a test controls
 * every message, sees every reply and the close code, and can stop reading.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import superjson from 'superjson';
import { handleUpgrade, wsServer } from '../src/lib/server/trpc/ws';
import { SESSION_COOKIE } from '../src/lib/server/auth/sessions';

export async function startWsHttp() {
	const server = http.createServer((_req, res) => res.writeHead(404).end());
	server.on('upgrade', (req, socket, head) => {
		if (!handleUpgrade(req, socket, head)) socket.destroy();
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		base,
		async stop() {
			wsServer().close();
			await new Promise((r) => server.close(r));
		}
	};
}

type ErrorShape = { message: string; data?: { code?: string } };
/** A reply as sent: errors and data pass through superjson, so they sit under `json`. */
export type Reply = { id: number | string | null; result?: { type: string; data?: unknown }; error?: { json: ErrorShape } };

export type RawClient = {
	ws: WebSocket;
	replies: Reply[];
	opened: Promise<boolean>;
	closed: Promise<{ code: number; at: number }>;
	isClosed(): boolean;
	send(msg: unknown): void;
	/** Sends a call and resolves with its first reply (data or error). */
	call(method: 'query' | 'mutation', path: string, input?: unknown): Promise<Reply>;
	subscribe(path: string, input?: unknown): number;
	close(): void;
};

let nextId = 1;

/** Opens a socket as a script (token in connectionParams) or a browser (session cookie + Origin). */
export function rawClient(base: string, opts: { token?: string; cookie?: string } = {}): RawClient {
	const headers: Record<string, string> = {};
	if (opts.cookie) {
		headers.cookie = `${SESSION_COOKIE}=${opts.cookie}`;
		headers.origin = `http://${new URL(base).host}`;
	}
	const url = `${base}/api/trpc-ws${opts.token ? '?connectionParams=1' : ''}`;
	const ws = new WebSocket(url, { headers });
	const replies: Reply[] = [];
	const waiters = new Map<number | string, (r: Reply) => void>();
	let closedFlag = false;
	ws.on('message', (data) => {
		const text = data.toString();
		if (text === 'PING') return void ws.send('PONG');
		if (text === 'PONG') return;
		const r = JSON.parse(text) as Reply;
		replies.push(r);
		if (r.id !== null && waiters.has(r.id)) {
			waiters.get(r.id)!(r);
			waiters.delete(r.id);
		}
	});
	// Messages written before the socket opens wait for it (after the connection params).
	const pending: string[] = [];
	const opened = new Promise<boolean>((resolve) => {
		ws.once('open', () => {
			if (opts.token) ws.send(JSON.stringify({ method: 'connectionParams', data: { token: opts.token } }));
			for (const m of pending.splice(0)) ws.send(m);
			resolve(true);
		});
		ws.once('unexpected-response', () => resolve(false));
		ws.once('error', () => resolve(false));
	});
	const closed = new Promise<{ code: number; at: number }>((resolve) =>
		ws.once('close', (code) => {
			closedFlag = true;
			resolve({ code, at: Date.now() });
		})
	);
	const send = (msg: unknown) => {
		const text = JSON.stringify(msg);
		if (ws.readyState === ws.CONNECTING) pending.push(text);
		else if (ws.readyState === ws.OPEN) ws.send(text);
	};
	return {
		ws,
		replies,
		opened,
		closed,
		isClosed: () => closedFlag,
		send,
		call(method, path, input) {
			const id = nextId++;
			const p = new Promise<Reply>((resolve) => waiters.set(id, resolve));
			send({ id, method, params: { path, input: superjson.serialize(input) } });
			return p;
		},
		subscribe(path, input) {
			const id = nextId++;
			send({ id, method: 'subscription', params: { path, input: superjson.serialize(input ?? {}) } });
			return id;
		},
		close: () => ws.close()
	};
}

/** The tRPC error code of a reply (e.g. 'UNAUTHORIZED'), or null for a result. */
export const codeOf = (r: Reply | undefined) => r?.error?.json?.data?.code ?? null;
