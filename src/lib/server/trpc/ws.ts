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

export const WS_PATH = '/api/trpc-ws';

type WsHandle = { wss: WebSocketServer; close(): void };

// One ws server per process, kept on globalThis so dev reloads reuse it.
declare global {
	var __batchdeskWs: WsHandle | undefined;
}
const g = globalThis;

async function createWsContext({ req, info }: CreateWSSContextFnOptions): Promise<Context> {
	const params = (info.connectionParams ?? {}) as Record<string, string | undefined>;
	const auth = await resolveAuth({
		sessionToken: cookieValue(req.headers.cookie, SESSION_COOKIE),
		bearer: params.token ?? bearerFrom(req.headers.authorization)
	});
	return {
		user: auth.user,
		sessionToken: auth.sessionToken,
		ip: clientAddress(req),
		userAgent: req.headers['user-agent'] ?? null
	};
}

export function clientAddress(req: IncomingMessage): string {
	return req.socket.remoteAddress ?? 'unknown';
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
	return { ...router, _def: { ...router._def, _config } } as AnyRouter;
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
	const handler = applyWSSHandler({
		wss,
		router: fanOutRouter(appRouter),
		experimental_encoder: fanOutEncoder,
		createContext: createWsContext,
		keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 }
	});
	g.__batchdeskWs = {
		wss,
		close() {
			handler.broadcastReconnectNotification();
			for (const c of wss.clients) c.terminate();
			wss.close();
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
	// Without an Origin (a script), a cookie alone is not accepted: it must present a token.
	if (!req.headers.origin) delete req.headers.cookie;
	const { wss } = wsServer();
	wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
	return true;
}
