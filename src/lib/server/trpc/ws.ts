import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import type { CreateWSSContextFnOptions } from '@trpc/server/adapters/ws';
import { appRouter } from './router';
import type { Context } from './context';
import { bearerFrom, cookieValue, resolveAuth } from '../auth/resolve';
import { SESSION_COOKIE } from '../auth/sessions';

export const WS_PATH = '/api/trpc-ws';

type WsHandle = { wss: WebSocketServer; close(): void };

// One ws server per process, kept on globalThis so dev reloads reuse it.
const g = globalThis as unknown as { __batchdeskWs?: WsHandle };

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

export function wsServer(): WsHandle {
	if (g.__batchdeskWs) return g.__batchdeskWs;
	const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
	const handler = applyWSSHandler({
		wss,
		router: appRouter,
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
	if (process.env.ORIGIN) allowed.add(new URL(process.env.ORIGIN).origin);
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
