import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { applyWSSHandler, jsonEncoder } from '@trpc/server/adapters/ws';
import type { CreateWSSContextFnOptions, Encoder } from '@trpc/server/adapters/ws';
import type { AnyRouter } from '@trpc/server';
import { appRouter } from './router';
import { isSharedEvent } from '../events/live';
import type { Context } from './context';
import { bearerFrom, cookieValue, resolveAuth } from '../auth/resolve';
import { SESSION_COOKIE } from '../auth/sessions';
import { env } from '../env';
import { TRPCError } from '@trpc/server';
import type { WebSocket } from 'ws';
import {
	admit,
	clientAddress,
	connectAllowed,
	connOf,
	guardSlowReader,
	revokedError,
	stillValid,
	stopWsAuth,
	type WsConn
} from './ws-auth';

export { clientAddress } from './ws-auth';

export const WS_PATH = '/api/trpc-ws';

type WsHandle = { wss: WebSocketServer; close(): void };

// One ws server per process, kept on globalThis so dev reloads reuse it.
declare global {
	var __batchdeskWs: WsHandle | undefined;
}
const g = globalThis;

async function createWsContext({ req, res, info }: CreateWSSContextFnOptions): Promise<Context> {
	const params = (info.connectionParams ?? {}) as Record<string, unknown>;
	const creds = {
		sessionToken: cookieValue(req.headers.cookie, SESSION_COOKIE),
		bearer: (typeof params.token === 'string' ? params.token : null) ?? bearerFrom(req.headers.authorization)
	};
	// Not renewed from here: a socket cannot re-send the cookie, so a renewal would keep
	// the session alive past the cookie the browser holds.
	const auth = await resolveAuth(creds, { renew: false });
	const ctx: Context = {
		user: auth.user,
		sessionToken: auth.sessionToken,
		ip: clientAddress(req),
		userAgent: req.headers['user-agent'] ?? null,
		overSocket: true
	};
	// Kept with the socket: re-read on revocation notices, at expiry, and by the sweep.
	admit(res as WebSocket, ctx, creds, auth.expiresAt);
	return ctx;
}

/**
 * The router as the ws handler sees it, with one change: a live event is shared by every
 * subscriber (same tracked id, same data object, never mutated), yet tRPC would
 * superjson-serialise it once per subscriber, the largest CPU cost of a fan-out. Its
 * serialised form is kept per event and handed to each subscriber (the same output),
 * and so is its JSON text (sharedJson, used by fanOutEncoder).
 */
const sharedJson = new WeakMap<object, string>();

function fanOutRouter(router: AnyRouter): AnyRouter {
	const config = router._def._config;
	const { input, output } = config.transformer;
	const done = new WeakMap<object, { id: unknown; out: object }>();
	const serialize = (value: unknown) => {
		// tRPC passes a tracked event as { id, data }: anything else is serialised as usual.
		const v = value as { id?: unknown; data?: unknown } | null;
		if (!v || typeof v !== 'object' || Object.keys(v).length !== 2 || !isSharedEvent(v.data)) return output.serialize(value);
		const hit = done.get(v.data as object);
		if (hit && hit.id === v.id) return hit.out;
		const out = output.serialize(value);
		done.set(v.data as object, { id: v.id, out });
		sharedJson.set(out, JSON.stringify(out));
		return out;
	};
	const _config = { ...config, transformer: { input, output: { serialize, deserialize: output.deserialize } } };
	const procedures = guardedProcedures(router._def.procedures as Record<string, Procedure>);
	return { ...router, _def: { ...router._def, _config, procedures } } as AnyRouter;
}

type ProcedureOpts = { ctx: unknown; type: string; signal?: AbortSignal };
type Procedure = ((opts: ProcedureOpts) => Promise<unknown>) & { _def: { type: string } };

/**
 * Every procedure as the socket calls it: refused once the socket's credentials ended
 * (an in-memory flag, see ws-auth.ts), and a subscription counted against
 * WS_MAX_SUBSCRIPTIONS while it runs, each of its events checked the same way.
 */
function guardedProcedures(procedures: Record<string, Procedure>): Record<string, Procedure> {
	const out: Record<string, Procedure> = {};
	for (const [path, proc] of Object.entries(procedures)) {
		const guarded = async (opts: ProcedureOpts) => {
			const conn = connOf(opts.ctx);
			if (conn && !stillValid(conn)) throw revokedError();
			if (!conn || proc._def.type !== 'subscription') return proc(opts);
			const max = env().ws.maxSubscriptions;
			if (conn.subscriptions >= max) {
				throw new TRPCError({
					code: 'TOO_MANY_REQUESTS',
					message: `Too many subscriptions on this connection (at most ${max}, WS_MAX_SUBSCRIPTIONS).`
				});
			}
			conn.subscriptions++;
			let released = false;
			const release = () => {
				if (!released) conn.subscriptions--;
				released = true;
			};
			opts.signal?.addEventListener('abort', release, { once: true });
			try {
				const result = await proc(opts);
				return isAsyncIterable(result) ? guardedIterable(result, conn, release) : result;
			} catch (e) {
				release();
				throw e;
			}
		};
		out[path] = Object.assign(guarded, { _def: proc._def }) as unknown as Procedure;
	}
	return out;
}

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
	return typeof x === 'object' && x !== null && typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Passes the events through (one `.then` each, no extra generator) unless the credentials ended. */
function guardedIterable(source: AsyncIterable<unknown>, conn: WsConn, release: () => void): AsyncIterable<unknown> {
	return {
		[Symbol.asyncIterator]() {
			const inner = source[Symbol.asyncIterator]();
			const end = (): Promise<IteratorResult<unknown>> => {
				release();
				return inner.return ? inner.return() : Promise.resolve({ done: true, value: undefined });
			};
			return {
				next: () => {
					if (!stillValid(conn)) return end().then(() => Promise.reject(revokedError()));
					return inner.next().then(
						(r) => {
							if (r.done) release();
							else if (!stillValid(conn)) return end().then(() => Promise.reject(revokedError()));
							return r;
						},
						(e) => {
							release();
							throw e;
						}
					);
				},
				return: end,
				throw: (e?: unknown) => {
					release();
					return inner.throw ? inner.throw(e) : Promise.reject(e);
				}
			};
		}
	};
}

/** JSON.stringify, except that a shared event's text is spliced in rather than rebuilt. */
const fanOutEncoder: Encoder = {
	encode(msg) {
		const { id, jsonrpc, result, ...rest } = msg as { id?: unknown; jsonrpc?: unknown; result?: Record<string, unknown> };
		const text = result?.data && typeof result.data === 'object' ? sharedJson.get(result.data) : undefined;
		const plain =
			text === undefined ||
			Object.keys(rest).length > 0 ||
			(typeof id !== 'string' && typeof id !== 'number') ||
			result!.type !== 'data' ||
			typeof result!.id !== 'string' ||
			Object.keys(result!).length !== 3;
		if (plain) return JSON.stringify(msg);
		const rpc = jsonrpc === undefined ? '' : `"jsonrpc":${JSON.stringify(jsonrpc)},`;
		// The bytes JSON.stringify would give (tRPC's key order: type, data, id).
		return `{"id":${JSON.stringify(id)},${rpc}"result":{"type":"data","data":${text},"id":${JSON.stringify(result!.id)}}}`;
	},
	decode: jsonEncoder.decode
};

export function wsServer(): WsHandle {
	if (g.__batchdeskWs) return g.__batchdeskWs;
	const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
	// Before tRPC's own listener, so that every reply goes through the slow-reader check.
	wss.on('connection', (client) => guardSlowReader(client));
	const handler = applyWSSHandler({
		wss,
		router: fanOutRouter(appRouter),
		experimental_encoder: fanOutEncoder,
		createContext: createWsContext,
		// As on HTTP: one message cannot make the server run more than this many calls at once.
		maxBatchSize: env().ws.maxBatch,
		keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 }
	});
	g.__batchdeskWs = {
		wss,
		close() {
			handler.broadcastReconnectNotification();
			for (const c of wss.clients) c.terminate();
			wss.close();
			void stopWsAuth();
			g.__batchdeskWs = undefined;
		}
	};
	return g.__batchdeskWs;
}

/**
 * Origins allowed to open the socket: the configured ORIGIN, else the Host the request
 * came to. A page on another site could otherwise ride the user's cookie (cross-site
 * WebSocket hijacking). Clients without an Origin header (scripts) must use a token.
 */
export function originAllowed(req: IncomingMessage): boolean {
	const origin = req.headers.origin;
	if (!origin) return true;
	const allowed = new Set<string>();
	const configured = env().web.origin;
	if (configured) allowed.add(new URL(configured).origin);
	const host = req.headers.host;
	if (host) {
		allowed.add(`http://${host}`);
		allowed.add(`https://${host}`);
	}
	try {
		return allowed.has(new URL(origin).origin);
	} catch {
		return false;
	}
}

/** Handles an HTTP upgrade; returns false when the path is not ours (e.g. Vite's HMR socket). */
export function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
	const url = new URL(req.url ?? '/', 'http://localhost');
	if (url.pathname !== WS_PATH) return false;
	if (!originAllowed(req)) {
		socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nOrigin not allowed\n');
		return true;
	}
	if (!connectAllowed(clientAddress(req))) {
		socket.end('HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 60\r\nConnection: close\r\n\r\nToo many connections from this address\n');
		return true;
	}
	// Without an Origin (a script), a cookie alone is not accepted: it must present a token.
	if (!req.headers.origin) delete req.headers.cookie;
	const { wss } = wsServer();
	wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
	return true;
}
