import type postgres from 'postgres';
import { sql } from '../db/client';
import { findBatch, progressOf, toStatusDto, type BatchRow, type BatchStatusDto } from '../batches/repository';
import { BATCH_CHANNEL } from './publish';

/**
 * The progress bus of one web process: ONE `LISTEN batch_update` connection, fanned out
 * in memory to every live subscription. A notification from publishBatchUpdate carries
 * the status row as committed: it is fanned out as is, with no read (notifications come
 * in commit order). A bare batch id (any other publisher) makes the bus read that row
 * once, however many subscribers want it; reads of one batch never overlap:
 * notifications that arrive during a read mark it dirty and cause one more read.
 */
export type BatchUpdateEvent = { type: 'batch_update'; data: BatchStatusDto; timestamp: number };

/** What a subscriber gets: the event, and when its row read started (for stale-drop). */
export type BusMessage = { event: BatchUpdateEvent; readSeq: number } | { resync: true; readSeq: number };

type Subscriber = { batchId: string | null; push(msg: BusMessage): void };

type BusState = {
	sql: postgres.Sql;
	subscribers: Set<Subscriber>;
	listening: Promise<void> | null;
	unlisten: (() => Promise<void>) | null;
	inFlight: Map<string, boolean>; // batchId → dirty flag while a read is running
	readSeq: number;
	/** The LISTEN watchdog (see watch), and the token of the ping it waits to hear. */
	watchdog: ReturnType<typeof setInterval> | null;
	ping: string | null;
	unlistenPing: (() => Promise<void>) | null;
};

/** The channel the watchdog pings itself on, through the LISTEN connection. */
const PING_CHANNEL = 'batchdesk_bus_ping';
const WATCH_MS = 5_000;
const PING_WAIT_MS = 3_000;

// On globalThis so Vite's dev reloads keep one LISTEN per process.
declare global {
	var __batchdeskBus: BusState | undefined;
}
const g = globalThis;

function state(): BusState {
	const current = sql();
	// closeDb() (tests, shutdown) replaces the pool: start afresh on the new one.
	if (!g.__batchdeskBus || g.__batchdeskBus.sql !== current) {
		g.__batchdeskBus = {
			sql: current,
			subscribers: new Set(),
			listening: null,
			unlisten: null,
			inFlight: new Map(),
			readSeq: 0,
			watchdog: null,
			ping: null,
			unlistenPing: null
		};
	}
	return g.__batchdeskBus;
}

/** A sequence number taken before a row read: a read started later sees newer data. */
export function nextReadSeq(): number {
	return ++state().readSeq;
}

function wanted(s: BusState, batchId: string): boolean {
	for (const sub of s.subscribers) if (sub.batchId === null || sub.batchId === batchId) return true;
	return false;
}

async function readAndFanOut(s: BusState, batchId: string): Promise<void> {
	if (s.inFlight.has(batchId)) {
		s.inFlight.set(batchId, true);
		return;
	}
	s.inFlight.set(batchId, false);
	try {
		do {
			s.inFlight.set(batchId, false);
			if (!wanted(s, batchId)) break;
			const readSeq = ++s.readSeq;
			const row = await findBatch(batchId).catch(() => undefined);
			if (!row) continue;
			const msg: BusMessage = {
				event: { type: 'batch_update', data: toStatusDto(row), timestamp: Date.now() },
				readSeq
			};
			for (const sub of s.subscribers) if (sub.batchId === null || sub.batchId === batchId) sub.push(msg);
		} while (s.inFlight.get(batchId));
	} finally {
		s.inFlight.delete(batchId);
	}
}

type Payload = Omit<BatchStatusDto, 'progress' | 'createdAt' | 'scheduledAt' | 'startedAt' | 'completedAt' | 'updatedAt'> & {
	createdAt: string;
	updatedAt?: string | null;
	scheduledAt: string | null;
	startedAt: string | null;
	completedAt: string | null;
};

/** The seed's status shape from a notification payload (the same fields toStatusDto gives). */
function dtoFromPayload(p: Payload): BatchStatusDto {
	const date = (v: string | null) => (v ? new Date(v) : null);
	return {
		id: p.id,
		type: p.type,
		status: p.status,
		totalCount: p.totalCount,
		processedCount: p.processedCount,
		successCount: p.successCount,
		failedCount: p.failedCount,
		skippedCount: p.skippedCount,
		unknownCount: p.unknownCount,
		deliveredCount: p.deliveredCount,
		readCount: p.readCount,
		undeliveredCount: p.undeliveredCount,
		progress: progressOf(p as Pick<BatchRow, 'status' | 'processedCount' | 'totalCount'>),
		createdAt: new Date(p.createdAt),
		scheduledAt: date(p.scheduledAt),
		startedAt: date(p.startedAt),
		completedAt: date(p.completedAt),
		// Absent from an older payload: the client then keeps no order for this one.
		updatedAt: date(p.updatedAt ?? null),
		error: p.error,
		// Live updates are of batches still running; retention touches only ended ones long after.
		detailsPruned: null
	};
}

function onNotification(s: BusState, payload: string) {
	if (!payload.startsWith('{')) return void readAndFanOut(s, payload);
	let data: BatchStatusDto;
	try {
		data = dtoFromPayload(JSON.parse(payload) as Payload);
	} catch {
		return;
	}
	if (!wanted(s, data.id)) return;
	// A read of this batch in flight (bare-id path) would be older: let it re-read after.
	if (s.inFlight.has(data.id)) s.inFlight.set(data.id, true);
	const msg: BusMessage = { event: { type: 'batch_update', data, timestamp: Date.now() }, readSeq: ++s.readSeq };
	for (const sub of s.subscribers) if (sub.batchId === null || sub.batchId === data.id) sub.push(msg);
}

/**
 * postgres.js re-issues LISTEN when its connection comes back, but a re-listen that
 * fails (the database still away) is dropped silently: after an outage longer than a
 * moment the bus would hear nothing ever again. While anyone is subscribed, the bus
 * pings itself through NOTIFY every few seconds; a ping not heard back on a database
 * that took the NOTIFY means the LISTEN is gone: it is set up again and subscribers
 * re-read (what was published meanwhile is lost).
 */
function watch(s: BusState) {
	if (s.watchdog) return;
	s.watchdog = setInterval(() => void check(s).catch(() => {}), WATCH_MS);
	s.watchdog.unref?.();
}

async function check(s: BusState) {
	if (g.__batchdeskBus !== s) {
		if (s.watchdog) clearInterval(s.watchdog);
		return;
	}
	if (s.subscribers.size === 0) return;
	if (!s.listening) return void startListening(s).catch(() => {});
	await s.listening;
	const token = `${process.pid}:${Math.random()}`;
	s.ping = token;
	await s.sql.notify(PING_CHANNEL, token);
	await new Promise((r) => setTimeout(r, PING_WAIT_MS));
	if (s.ping !== token) return; // heard
	s.ping = null;
	const [unlisten, unlistenPing] = [s.unlisten, s.unlistenPing];
	s.listening = null;
	s.unlisten = null;
	s.unlistenPing = null;
	await unlisten?.().catch(() => {});
	await unlistenPing?.().catch(() => {});
	await startListening(s);
	const msg: BusMessage = { resync: true, readSeq: ++s.readSeq };
	for (const sub of s.subscribers) sub.push(msg);
}

function startListening(s: BusState): Promise<void> {
	watch(s);
	if (s.listening) return s.listening;
	let first = true;
	s.listening = s.sql
		.listen(
			BATCH_CHANNEL,
			(payload) => {
				if (payload) onNotification(s, payload);
			},
			() => {
				// Called on every (re)connect of the LISTEN connection. After a reconnect,
				// notifications sent meanwhile are gone: ask subscribers to re-read.
				if (first) {
					first = false;
					return;
				}
				const msg: BusMessage = { resync: true, readSeq: ++s.readSeq };
				for (const sub of s.subscribers) sub.push(msg);
			}
		)
		.then(async (res) => {
			s.unlisten = res.unlisten;
			const ping = await s.sql.listen(PING_CHANNEL, (token) => {
				if (token === s.ping) s.ping = null;
			});
			s.unlistenPing = ping.unlisten;
		})
		.catch((e) => {
			s.listening = null;
			throw e;
		});
	return s.listening;
}

/**
 * Registers a subscriber at once (synchronously, so nothing published from now on is
 * missed) and returns an async queue of its messages plus `ready`, which resolves once
 * the LISTEN is established. Call before reading any snapshot. Aborting `signal`
 * closes it.
 */
export function subscribe(batchId: string | null, signal?: AbortSignal) {
	const s = state();
	const queue: BusMessage[] = [];
	let wake: (() => void) | null = null;
	let closed = false;
	const sub: Subscriber = {
		batchId,
		push(msg) {
			queue.push(msg);
			wake?.();
		}
	};
	s.subscribers.add(sub);
	const ready = startListening(s);
	const close = () => {
		closed = true;
		s.subscribers.delete(sub);
		wake?.();
	};
	/** Waits for messages; resolves with all queued ones (empty once closed or aborted). */
	signal?.addEventListener('abort', close, { once: true });
	async function take(): Promise<BusMessage[]> {
		while (queue.length === 0 && !closed) {
			await new Promise<void>((resolve) => (wake = resolve));
			wake = null;
		}
		return queue.splice(0, queue.length);
	}
	return { ready, take, close };
}

/** For tests and shutdown: drop the LISTEN connection. */
export async function stopBus(): Promise<void> {
	const s = g.__batchdeskBus;
	g.__batchdeskBus = undefined;
	if (s?.watchdog) clearInterval(s.watchdog);
	if (s?.unlisten) await s.unlisten().catch(() => {});
	if (s?.unlistenPing) await s.unlistenPing().catch(() => {});
}

export function subscriberCount(): number {
	return g.__batchdeskBus?.subscribers.size ?? 0;
}
