import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type postgres from 'postgres';
import { TRPCError } from '@trpc/server';
import { sql } from '../db/client';
import { resolveAuth } from '../auth/resolve';
import type { AuthUser } from '../auth/types';
import { env } from '../env';
import { logger } from '../log';

/**
 * What keeps an open socket honest about who it serves. Credentials are read at
 * connect; afterwards every call and every subscription event checks an in-memory flag
 * (cheap), and the flag is set by:
 *  - a revocation notice: the database notifies `batchdesk_auth` with a user id whenever
 *    one of that user's credentials ends or changes (triggers of migration 0006: token
 *    revoked or expired, sign-out, sessions swept, user disabled, deleted or given another
 *    role, password reset). Each web process LISTENs (on the pool's LISTEN connection,
 *    shared with the progress bus) and re-reads the credentials of that user's sockets;
 *  - a timer at the credential's own expiry;
 *  - a sweep every WS_AUTH_RECHECK_SECONDS, and after the LISTEN connection reconnects
 *    (notices sent meanwhile are lost).
 * A socket whose credentials no longer resolve to the same user with the same role is
 * closed (code 4401); its client reconnects and signs in again.
 */
export const AUTH_CHANNEL = 'batchdesk_auth';
export const CLOSE_REVOKED = 4401;

const log = logger.child({ module: 'ws' });

export type WsConn = {
	client: WebSocket;
	creds: { sessionToken: string | null; bearer: string | null };
	user: AuthUser | null;
	expiresAt: Date | null;
	revoked: boolean;
	subscriptions: number;
	timer: NodeJS.Timeout | null;
	checking: boolean;
	checkAgain: boolean;
	/** The tRPC context object of this socket: cleared of its user on revocation. */
	ctx: { user: AuthUser | null };
};

type State = {
	byUser: Map<number, Set<WsConn>>;
	byCtx: WeakMap<object, WsConn>;
	listening: { sql: postgres.Sql; unlisten: Promise<(() => Promise<void>) | null> } | null;
	sweep: NodeJS.Timeout | null;
	connects: Map<string, { tokens: number; at: number }>;
	stats: { revoked: number; slowDropped: number; refusedSockets: number; refusedConnects: number };
};

declare global {
	var __batchdeskWsAuth: State | undefined;
}
const g = globalThis;

function state(): State {
	g.__batchdeskWsAuth ??= {
		byUser: new Map(),
		byCtx: new WeakMap(),
		listening: null,
		sweep: null,
		connects: new Map(),
		stats: { revoked: 0, slowDropped: 0, refusedSockets: 0, refusedConnects: 0 }
	};
	return g.__batchdeskWsAuth;
}

/** Counters for tests and logs: sockets closed by revocation, slow readers dropped, refusals. */
export function wsGuardStats() {
	return { ...state().stats, sockets: [...state().byUser.values()].reduce((n, s) => n + s.size, 0) };
}

export function connOf(ctx: unknown): WsConn | undefined {
	return ctx && typeof ctx === 'object' ? state().byCtx.get(ctx) : undefined;
}

/**
 * Registers the socket of a freshly built context. A signed-in user over their socket cap
 * is refused (tRPC answers the error and closes the socket).
 */
export function admit(
	client: WebSocket,
	ctx: { user: AuthUser | null },
	creds: WsConn['creds'],
	expiresAt: Date | null
): WsConn {
	const s = state();
	const conn: WsConn = {
		client,
		creds,
		user: ctx.user,
		expiresAt,
		revoked: false,
		subscriptions: 0,
		timer: null,
		checking: false,
		checkAgain: false,
		ctx
	};
	if (conn.user) {
		const mine = s.byUser.get(conn.user.id) ?? new Set();
		const max = env().ws.maxSocketsPerUser;
		if (mine.size >= max) {
			s.stats.refusedSockets++;
			throw new TRPCError({
				code: 'TOO_MANY_REQUESTS',
				message: `Too many open connections for this user (at most ${max}, WS_MAX_SOCKETS_PER_USER).`
			});
		}
		mine.add(conn);
		s.byUser.set(conn.user.id, mine);
		client.once('close', () => release(conn));
		armExpiry(conn);
		listen();
	}
	s.byCtx.set(ctx, conn);
	return conn;
}

function release(conn: WsConn) {
	if (conn.timer) clearTimeout(conn.timer);
	conn.timer = null;
	if (!conn.user) return;
	const s = state();
	const mine = s.byUser.get(conn.user.id);
	mine?.delete(conn);
	if (mine && mine.size === 0) s.byUser.delete(conn.user.id);
}

// setTimeout holds at most ~24.8 days; a later expiry is re-armed by the sweep's re-checks.
const MAX_TIMER_MS = 2 ** 31 - 1;

function armExpiry(conn: WsConn) {
	if (conn.timer) clearTimeout(conn.timer);
	conn.timer = null;
	if (!conn.expiresAt) return;
	const ms = conn.expiresAt.getTime() - Date.now();
	// Re-read 30 s ahead: a session the browser renewed over HTTP meanwhile then stays
	// open without a moment of refusals; the last check lands just after the expiry.
	const delay = ms > 60_000 ? ms - 30_000 : Math.max(0, ms) + 50;
	if (delay > MAX_TIMER_MS) return;
	conn.timer = setTimeout(() => void recheck(conn), delay);
	conn.timer.unref();
}

/** The cheap check of every call and event: an in-memory flag and the expiry time. */
export function stillValid(conn: WsConn): boolean {
	if (conn.revoked) return false;
	if (conn.expiresAt && conn.expiresAt.getTime() <= Date.now()) {
		void recheck(conn);
		return false;
	}
	return true;
}

export function revokedError() {
	return new TRPCError({ code: 'UNAUTHORIZED', message: 'Your sign-in ended (revoked, expired or changed). Sign in again.' });
}

function revoke(conn: WsConn, why: string) {
	if (conn.revoked) return;
	conn.revoked = true;
	conn.ctx.user = null;
	state().stats.revoked++;
	release(conn);
	log.info({ userId: conn.user?.id, why }, 'ws credentials ended: closing the socket');
	conn.client.close(CLOSE_REVOKED, 'credentials ended');
	// A client that does not answer the close handshake is cut off.
	setTimeout(() => conn.client.terminate(), 2_000).unref();
}

/** Reads the socket's credentials again; closes it unless they give the same user and role. */
async function recheck(conn: WsConn): Promise<void> {
	if (conn.revoked || !conn.user) return;
	if (conn.checking) {
		conn.checkAgain = true;
		return;
	}
	conn.checking = true;
	try {
		do {
			conn.checkAgain = false;
			let auth;
			try {
				auth = await resolveAuth(conn.creds, { renew: false });
			} catch (err) {
				// The database is unreachable: keep the socket, the next notice or sweep decides.
				log.warn({ err }, 'ws credential re-check failed');
				return;
			}
			const u = auth.user;
			if (!u || u.id !== conn.user.id || u.role !== conn.user.role) {
				revoke(conn, !u ? 'credentials no longer valid' : 'role changed');
				return;
			}
			conn.expiresAt = auth.expiresAt;
			armExpiry(conn);
		} while (conn.checkAgain && !conn.revoked);
	} finally {
		conn.checking = false;
	}
}

function recheckUser(userId: number) {
	for (const conn of state().byUser.get(userId) ?? []) void recheck(conn);
}

function recheckAll() {
	for (const set of state().byUser.values()) for (const conn of set) void recheck(conn);
}

/** LISTENs once per pool (closeDb() in tests replaces the pool), and starts the sweep. */
function listen() {
	const s = state();
	const current = sql();
	if (s.listening?.sql === current) return;
	let first = true;
	const unlisten = current
		.listen(
			AUTH_CHANNEL,
			(payload) => {
				const id = Number(payload);
				if (Number.isSafeInteger(id)) recheckUser(id);
			},
			() => {
				if (first) first = false;
				else recheckAll(); // reconnected: notices sent meanwhile are gone
			}
		)
		.then((r) => r.unlisten)
		.catch((err) => {
			log.error({ err }, 'ws revocation LISTEN failed; relying on the periodic re-check');
			if (s.listening?.sql === current) s.listening = null;
			return null;
		});
	s.listening = { sql: current, unlisten };
	if (!s.sweep) {
		s.sweep = setInterval(() => {
			recheckAll();
			if (state().byUser.size > 0 && state().listening === null) listen();
		}, env().ws.authRecheckSeconds * 1000);
		s.sweep.unref();
	}
}

/** Resolves once the revocation LISTEN is in place (tests wait for it before revoking). */
export async function revocationsReady(): Promise<void> {
	listen();
	await state().listening?.unlisten;
}

/** For shutdown and tests. */
export async function stopWsAuth() {
	const s = g.__batchdeskWsAuth;
	g.__batchdeskWsAuth = undefined;
	if (s?.sweep) clearInterval(s.sweep);
	const un = await s?.listening?.unlisten;
	await un?.().catch(() => {});
}

/**
 * Per client address, a token bucket of WS_CONNECTS_PER_MINUTE sockets (in this web
 * process), refilled continuously: a burst of reconnects passes, a flood does not.
 */
export function connectAllowed(ip: string): boolean {
	const s = state();
	const rate = env().ws.connectsPerMinute;
	const now = Date.now();
	const b = s.connects.get(ip) ?? { tokens: rate, at: now };
	b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 60_000) * rate);
	b.at = now;
	if (s.connects.size > 10_000) {
		// Forget full buckets so a scan of many addresses cannot grow the map without end.
		for (const [k, v] of s.connects) if (v.tokens + ((now - v.at) / 60_000) * rate >= rate) s.connects.delete(k);
	}
	if (b.tokens < 1) {
		s.connects.set(ip, b);
		s.stats.refusedConnects++;
		return false;
	}
	b.tokens -= 1;
	s.connects.set(ip, b);
	return true;
}

/**
 * Drops a socket whose unsent bytes pass WS_MAX_BUFFERED_BYTES (a reader that stopped
 * reading would otherwise make the process hold every event it is sent).
 */
export function guardSlowReader(client: WebSocket) {
	const send = client.send.bind(client) as (...args: unknown[]) => void;
	(client as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
		send(...args);
		const max = env().ws.maxBufferedBytes;
		if (client.bufferedAmount > max && client.readyState === client.OPEN) {
			state().stats.slowDropped++;
			log.warn({ buffered: client.bufferedAmount, max }, 'ws slow reader dropped');
			client.terminate();
		}
	};
}

/** The client's address: the socket's peer, or behind a proxy ADDRESS_HEADER as adapter-node reads it. */
export function clientAddress(req: IncomingMessage): string {
	const { addressHeader, xffDepth } = env().ws;
	if (addressHeader) {
		const raw = req.headers[addressHeader];
		const value = Array.isArray(raw) ? raw.join(',') : raw;
		if (value) {
			if (addressHeader !== 'x-forwarded-for') return value.trim();
			const list = value.split(',').map((x) => x.trim());
			return list[Math.max(0, list.length - xffDepth)] ?? 'unknown';
		}
	}
	return req.socket.remoteAddress ?? 'unknown';
}
