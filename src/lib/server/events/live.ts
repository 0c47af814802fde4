import { sql as dsql, desc } from 'drizzle-orm';
import { db } from '../db/client';
import { batchOperations } from '../db/schema';
import { findBatch, toStatusDto, type BatchRow, type BatchStatusDto } from '../batches/repository';
import { isTerminal } from '../batches/transitions';
import { endedAtMs, isStaleAfterEnd } from '../../batch-kinds';
import { tracked, type TrackedEnvelope } from '@trpc/server';
import { nextReadSeq, subscribe, type BatchUpdateEvent } from './bus';

/**
 * The stream behind `batch.onUpdate`: a snapshot first, then live events from the bus,
 * yielded as tRPC `tracked()` envelopes (so the procedure returns this generator as is,
 * with no extra async layer per subscriber per event). Each id of the form `<ms>:<fingerprint>`; a client
 * that reconnects sends its last id back and gets, before anything live:
 *  - one batch: the current snapshot unless it is the very state it last saw (a
 *    terminal state is always re-sent, so it can never be missed);
 *  - all batches: every active batch plus every batch changed since the last event
 *    (with a margin for clock skew between web processes).
 */
export type LiveEvent = TrackedEnvelope<BatchUpdateEvent>;

const RESUME_MARGIN_MS = 10_000;
const SNAPSHOT_LIMIT = 500;

function fingerprint(d: BatchStatusDto): string {
	return [d.status, d.totalCount, d.processedCount, d.successCount, d.failedCount, d.skippedCount].join('/');
}

// One bus event is shared by every subscriber: build its id once, not once per subscriber.
const liveOf = new WeakMap<BatchUpdateEvent, { fp: string; live: LiveEvent }>();

function toLive(event: BatchUpdateEvent, fp = fingerprint(event.data)): LiveEvent {
	return tracked(`${event.timestamp}:${fp}`, event);
}

/** True for a bus event shared by all subscribers (never mutated): ws.ts serialises it once. */
export function isSharedEvent(x: unknown): boolean {
	return typeof x === 'object' && x !== null && liveOf.has(x as BatchUpdateEvent);
}

function sharedLive(event: BatchUpdateEvent): { fp: string; live: LiveEvent } {
	let v = liveOf.get(event);
	if (!v) {
		const fp = fingerprint(event.data);
		v = { fp, live: toLive(event, fp) };
		liveOf.set(event, v);
	}
	return v;
}

function parseLastEventId(id: string | null | undefined): { ms: number; fp: string } | null {
	if (!id) return null;
	const at = id.indexOf(':');
	const ms = Number(id.slice(0, at));
	if (at < 0 || !Number.isFinite(ms)) return null;
	return { ms, fp: id.slice(at + 1) };
}

async function snapshotRows(batchId: string | null, since: number | null): Promise<BatchRow[]> {
	if (batchId) {
		const row = await findBatch(batchId);
		return row ? [row] : [];
	}
	const active = dsql`${batchOperations.status} in ('PENDING','PROCESSING','PAUSED')`;
	const from = since === null ? null : new Date(since - RESUME_MARGIN_MS);
	const where =
		from === null
			? active
			: dsql`(${active} or ${batchOperations.updatedAt} >= ${from}::timestamptz
				or ${batchOperations.completedAt} >= ${from}::timestamptz)`;
	const rows = await db()
		.select()
		.from(batchOperations)
		.where(where)
		.orderBy(desc(batchOperations.createdAt))
		.limit(SNAPSHOT_LIMIT);
	return rows as BatchRow[];
}

/**
 * Subscribes at once (before any await, so nothing published from here on is lost),
 * then yields the snapshot and the live events. Events read before a fresher snapshot
 * are dropped so progress never goes backwards; repeats of an unchanged state are skipped.
 */
export async function* batchUpdates(opts: {
	batchId?: string | null;
	lastEventId?: string | null;
	signal?: AbortSignal;
}): AsyncGenerator<LiveEvent> {
	const batchId = opts.batchId ?? null;
	const sub = subscribe(batchId, opts.signal);
	try {
		await sub.ready;
		const seen = new Map<string, { seq: number; fp: string }>();
		/** When each batch sent as ended was last written (its updatedAt, ms). */
		const endedAt = new Map<string, number>();
		const last = parseLastEventId(opts.lastEventId);
		let lastMs = last?.ms ?? null;

		const emitSnapshot = async function* (resuming: boolean) {
			const seq = nextReadSeq();
			const rows = await snapshotRows(batchId, resuming ? lastMs : null);
			for (const row of rows) {
				const data = toStatusDto(row);
				const fp = fingerprint(data);
				const prev = seen.get(row.id)?.fp ?? (batchId && last ? last.fp : undefined);
				seen.set(row.id, { seq, fp });
				const ended = endedAtMs(data);
				if (ended !== undefined) endedAt.set(row.id, ended);
				// On resume, an unchanged non-terminal state is not worth re-sending.
				if (resuming && prev === fp && !isTerminal(data.status)) continue;
				const ev: BatchUpdateEvent = { type: 'batch_update', data, timestamp: Date.now() };
				lastMs = ev.timestamp;
				yield toLive(ev, fp);
			}
		};

		yield* emitSnapshot(last !== null);
		while (!opts.signal?.aborted) {
			const msgs = await sub.take();
			if (msgs.length === 0) return; // closed or aborted
			for (const msg of msgs) {
				if ('resync' in msg) {
					yield* emitSnapshot(true);
					continue;
				}
				const { data } = msg.event;
				if (isStaleAfterEnd(endedAt.get(data.id), data)) continue;
				const ended = endedAtMs(data);
				if (ended !== undefined) endedAt.set(data.id, ended);
				const prev = seen.get(data.id);
				if (prev && msg.readSeq < prev.seq) continue; // older than what we already sent
				const { fp, live } = sharedLive(msg.event);
				if (prev && prev.fp === fp) continue;
				seen.set(data.id, { seq: msg.readSeq, fp });
				lastMs = msg.event.timestamp;
				yield live;
			}
		}
	} finally {
		sub.close();
	}
}
