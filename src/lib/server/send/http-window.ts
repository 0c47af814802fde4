import { sql } from '../db/client';
import { channelFor } from '../channels/registry';
import { bucketCtes, bucketUpdate, bucketWaitMs, ensureBucket, LATE_GRANT_MS, restampGrant } from '../channels/limiter';
import type { ChannelRow } from '../channels/types';
import { WORKER_PROCESS_ID } from '../jobs/recovery';
import { checkBreaker } from './guards';
import { sleep } from './clock';
import type { CountDelta, ItemOutcome } from './types';
import { env } from '../env';
import { logger } from '../log';
import { heldSql } from './quiet';
import { claiming } from './claims';
import { prepare, recordPatiently, resolveUnrecorded, sendOne, type Claimed, type Message } from './http';

const log = logger.child({ module: 'send' });

type Wave = Claimed & { available: number | null; refill: number | null; cap: number | null; grant_ms: number | null; start_ms: number };

/**
 * The unpaced form of claim(): takes the channel's tokens and claims that many items
 * in the same statement, so a request goes out within a moment of its token being
 * granted. Measured with the tokens taken one round trip before the claim, on a loaded
 * machine: the receiver saw 1 043 requests in one second at a cap of 1 000, the
 * variable delay between grant and request bunching them; the bucket's guarantee
 * (never more than the cap in a second) holds at the provider only if that delay is
 * short and steady. The bucket row stays locked for this one statement.
 */
async function claimWithTokens(batchId: string, channelId: string, want: number): Promise<Wave[]> {
	await ensureBucket(channelId);
	const ex = sql();
	return claiming(batchId, () => ex<Wave[]>`
		with ${bucketCtes(ex, channelId)},
		b as (select status, quiet_start, quiet_end from batch_operations where id = ${batchId} for key share),
		cand as (
			select id, quiet_zones from batch_items
			where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				and exists (select 1 from b where status = 'PROCESSING')
			order by id limit least(${want}::int, (select available from av))
			for update skip locked),
		${heldSql(ex)},
		picked as (select id from cand where id not in (select id from held)),
		claimed as (
			update batch_items i set status = 'sending', attempts = i.attempts + 1, claimed_by = ${WORKER_PROCESS_ID},
				claimed_at = now(), updated_at = now()
			from picked where i.id = picked.id
			returning i.id, i.contact_id, i.attempts),
		used as (${bucketUpdate(ex, ex`(select count(*)::int from claimed)`)})
		select b.status, true as due, null::float8 as due_ms, null::float8 as next_ms, (select count(*) from held)::int as held, av.available, av.refill::float8 as refill, av.cap, av.now_ms as grant_ms,
			(extract(epoch from statement_timestamp()) * 1000)::float8 as start_ms,
			c.id::int as id, c.attempts, ct.phone_e164 as phone, ct.name, ct.attributes,
			coalesce(ct.opted_out_at is not null, false) as opted_out, (c.id is not null and ct.id is null) as gone
		from b left join av on true left join (claimed c left join contacts ct on ct.id = c.contact_id) on true
		order by c.id`);
}

/** Requests in flight in this process, over every lane and batch (SEND_HTTP_MAX_IN_FLIGHT bounds it). */
let processInFlight = 0;
/** What each lane learned about its window, so the next job of the lane starts there. */
const learned = new Map<string, number>();

export type WindowResult = { stopped: boolean; exhausted: boolean };

/**
 * An unpaced lane on a provider reached over HTTP: a sliding window of requests, a new
 * one starting as soon as one finishes, for as long as the job's budget lasts.
 *
 * Throughput at a provider is requests in flight ÷ latency (measured: 30 in flight at
 * 200 ms gave 132 msg/s), so the window adapts: it starts at SEND_HTTP_CONCURRENCY and
 * grows by half whenever, over about one latency, it was full while the channel's
 * token bucket still granted everything asked for; it shrinks when latency climbs
 * (the provider is saturating). The bucket (channels/limiter.ts) holds the channel's
 * cap across lanes and worker processes; SEND_HTTP_MAX_IN_FLIGHT bounds the requests
 * (and sockets) of one process.
 *
 * Each wave of new sends takes tokens, then claims exactly that many items in one
 * statement that also checks the batch status, and starts them at once: a cancel or
 * pause that has committed stops every later wave, and no item waits claimed but
 * unsent (which a crash would turn into `unknown` on a channel that cannot dedupe).
 * No transaction is open during a call. Outcomes are written in one transaction per
 * bounded batch of completions (FLUSH_MAX, or FLUSH_MS after the first), one at a time.
 * A stop (cancel, pause, SIGTERM) or the end of the budget starts nothing new and
 * returns when every request in flight has finished and been recorded.
 */
export async function httpWindow(
	batchId: string,
	channelRow: ChannelRow,
	body: string,
	opts: { lane: number; deadline: number; stopping: () => boolean; onRecorded: (d: CountDelta) => void; onBusy: () => Promise<void> }
): Promise<WindowResult> {
	const channel = channelFor(channelRow);
	const maxInFlight = env().send.httpMaxInFlight;
	const key = `${batchId}:${opts.lane}`;
	// A lane starts where this lane, or else another lane of the batch, left off.
	let window = Math.min(maxInFlight, learned.get(key) ?? learned.get(batchId) ?? env().send.httpConcurrency);
	let lastWave = 0;
	let inFlight = 0;
	let claimedTotal = 0;
	let busyCalled = false;
	let stopped = false;
	let exhausted = false;
	const stats = { waves: 0, tokenWaits: 0, fullWaits: 0, claimMs: 0, claimMaxMs: 0, started: performance.now() };

	// A promise that settles when any request in flight finishes.
	let wake: (() => void) | null = null;
	const completion = () => new Promise<void>((r) => (wake = r));

	// Latency (ms): smoothed, and the lowest smoothed value seen (the provider unloaded).
	let latency = 0;
	let latencyFloor = Infinity;
	// What happened since the window was last adjusted.
	let periodStart = performance.now();
	let wasFull = false;
	let tokenShort = false;

	const pending: ItemOutcome[] = [];
	let firstPendingAt = 0;
	let flushing: Promise<void> = Promise.resolve();
	let flushError: unknown = null;
	const FLUSH_MAX = 500;
	const FLUSH_MS = 100;
	// Refusals (failed, unknown) over the lane's answers (sent, failed, unknown) in this job.
	let laneRefused = 0;
	let laneAnswered = 0;
	// The highest item this lane has recorded: the breaker's window ends there.
	let highestRecorded = 0;
	const flush = () => {
		if (pending.length === 0) return flushing;
		const batch = pending.splice(0, pending.length);
		flushing = flushing.then(async () => {
			try {
				const d = await recordPatiently(batchId, batch);
				opts.onRecorded(d);
				for (const o of batch) if (o.id > highestRecorded) highestRecorded = o.id;
				await checkBreaker(batchId, d, highestRecorded);
			} catch (e) {
				// Outcomes could not be written (not even after waiting out an outage): settle these
				// claims as a dead worker's would be, so they are neither stuck in `sending` nor re-sent blindly.
				flushError ??= e;
				await resolveUnrecorded(batch.map((o) => o.id)).catch(() => {});
			}
		});
		return flushing;
	};
	const record = (o: ItemOutcome) => {
		if (pending.length === 0) firstPendingAt = performance.now();
		pending.push(o);
		if (o.status === 'failed' || o.status === 'unknown') {
			laneRefused++;
		}
		if (o.status !== 'skipped' && o.status !== 'pending') laneAnswered++;
		if (pending.length >= FLUSH_MAX) void flush();
	};
	const flushTimer = setInterval(() => {
		if (pending.length && performance.now() - firstPendingAt >= FLUSH_MS) void flush();
	}, FLUSH_MS / 2);

	const adapt = () => {
		const now = performance.now();
		// What the cap needs at the provider's unloaded latency (+25%): one lane can
		// carry the whole cap (the others may be parked, or on another process). Set
		// at once from the first answers instead of doubling up to it (at 200 ms,
		// doubling from 10 lost about a second of sending per batch start).
		if (latency > 0) {
			const need = Math.ceil((channelRow.ratePerSecond * Math.min(latency, 2 * latencyFloor) * 1.25) / 1000);
			if (window < need) window = Math.min(maxInFlight, need);
		}
		if (now - periodStart < Math.max(50, latency)) return;
		if (latency > latencyFloor * 3 + 20 && window > env().send.httpConcurrency) {
			window = Math.max(env().send.httpConcurrency, Math.floor(window * 0.75));
		} else if (wasFull && !tokenShort && latency > 0 && laneRefused / laneAnswered <= env().send.breaker.share) {
			// Doubling per latency, like TCP's slow start: at 200 ms, 10 → 320 in a second.
			// Like slow start, only on answers, and not while they are refused: before any
			// answer a loaded machine doubled it every 50 ms into a provider that refuses
			// everything (60 requests where the breaker needs 10 to judge).
			window = Math.min(maxInFlight, window * 2);
		}
		periodStart = now;
		wasFull = false;
		tokenShort = false;
	};

	const start = (m: Message) => {
		inFlight++;
		processInFlight++;
		const t0 = performance.now();
		void sendOne(channel, channelRow, m).then((answer) => {
			const o = { ...answer, claim: m.attempts };
			inFlight--;
			processInFlight--;
			const ms = performance.now() - t0;
			latency = latency === 0 ? ms : latency * 0.9 + ms * 0.1;
			latencyFloor = Math.min(latencyFloor, latency);
			record(o);
			wake?.();
		});
	};

	try {
		for (;;) {
			if (opts.stopping() || Date.now() > opts.deadline || flushError) break;
			adapt();
			const free = Math.min(window - inFlight, maxInFlight - processInFlight);
			if (free <= 0) {
				wasFull = inFlight >= window;
				// Full: the next completion frees a slot. The process's bound reached by
				// other lanes alone: theirs will, but we are not told, so look again soon.
				stats.fullWaits++;
				await (inFlight > 0 ? completion() : sleep(20));
				continue;
			}
			// A wave costs a statement: with only a few slots free, let a few more
			// requests finish first (up to 5 ms), rather than one wave per completion.
			if (free < window / 8) wasFull = true;
			if (free < window / 8 && inFlight > 0 && performance.now() - lastWave < 5) {
				await Promise.race([completion(), sleep(lastWave + 5 - performance.now())]);
				continue;
			}
			// The circuit breaker judges recorded outcomes, and a fast provider answers many
			// waves within one FLUSH_MS: when this lane's answers are refused past the
			// breaker's share, record them (and let it judge) before claiming more, so a
			// tripped breaker stops the lane here rather than after the whole batch.
			// While this lane's own answers are refused past the share, it sends only what the
			// breaker still needs to judge (SEND_BREAKER_MIN_SENDS), then waits for answers.
			let claimable = free;
			const breaker = env().send.breaker;
			if (laneRefused > 0 && laneRefused / laneAnswered > breaker.share) {
				// Until nothing is left unrecorded: answers that came during a flush, recorded
				// by the timer's flush or by none, are judged before claiming more.
				for (let f = flush(); ; f = flush()) {
					await f;
					if (f === flushing && pending.length === 0) break;
				}
				if (flushError) break;
				if (inFlight > 0) {
					claimable = Math.min(free, Math.max(0, breaker.minSends - laneAnswered - inFlight));
					if (claimable === 0) {
						await completion();
						continue;
					}
				}
			}
			lastWave = performance.now();
			const issued = lastWave;
			const rows = await claimWithTokens(batchId, channel.id, claimable);
			const claimMs = performance.now() - issued;
			stats.claimMs += claimMs;
			stats.claimMaxMs = Math.max(stats.claimMaxMs, claimMs);
			const head = rows[0];
			if (!head || head.status !== 'PROCESSING') {
				stopped = true;
				break;
			}
			const items = head.id !== null ? rows : [];
			if (head.available === 0) {
				// The bucket is empty: the channel's cap, not the window, is the limit now.
				// Wait for enough tokens to make a wave worth its statement, but look again
				// before the bucket (5% of the cap, channels/limiter.ts) could fill up and
				// overflow: at 1 000/s it holds 50, which refill in about 50 ms.
				tokenShort = true;
				stats.tokenWaits++;
				const waitMs = bucketWaitMs({ refill: head.refill ?? 1 });
				await sleep(Math.max(waitMs, Math.min(waitMs * free, (1000 * (head.cap ?? 1)) / (head.refill ?? 1) / 2)));
				continue;
			}
			// Only recipients in their quiet window came up: they are held now, so look again at once.
			if (items.length === 0 && head.held > 0) continue;
			if (items.length === 0) {
				// Nothing claimable now: done once nothing is in flight (a failed send may
				// come back as pending; the caller parks or finishes the lane).
				if (inFlight === 0) {
					exhausted = true;
					break;
				}
				await completion();
				continue;
			}
			claimedTotal += items.length;
			stats.waves++;
			for (const it of items) {
				const p = prepare(batchId, body, it);
				if ('status' in p) record(p);
				else start(p);
			}
			// Written long after the grant: the ledger counts them from now (channels/limiter.ts).
			// From the grant, not from issuing the statement: the wait for the bucket row's lock
			// (other lanes' claims) comes before the grant and delays no request after it.
			// Counted from issuing, every wave behind a lock was "late" and restamped, and the
			// restamps' own updates of the row lengthened the next waits (bench:providers
			// fell to 0.42-0.67 of the cap on a quiet machine).
			if (head.grant_ms !== null) {
				const sinceGrant = performance.now() - issued - Math.max(0, head.grant_ms - head.start_ms);
				if (sinceGrant > LATE_GRANT_MS) void restampGrant(channel.id, head.grant_ms).catch(() => {});
			}
			// Other lanes open only once this one's answers are not refused past the breaker's
			// share: a batch the provider refuses stays on one lane, which the breaker stops.
			const healthy = laneAnswered > 0 && laneRefused / laneAnswered <= breaker.share;
			if (!busyCalled && claimedTotal >= env().send.httpSlice && healthy) {
				busyCalled = true;
				await opts.onBusy();
			}
		}
		while (inFlight > 0) await completion();
	} finally {
		// Left by a throw (a claim that lost the database): the requests already out are
		// answered and recorded too, or their items would stay `sending` under a live worker.
		while (inFlight > 0) await completion();
		clearInterval(flushTimer);
		await flush();
		learned.delete(key);
		learned.delete(batchId);
		// Kept for the lane's next job; a batch that never comes back (cancelled) leaves
		// entries, so the map is emptied now and then rather than grow.
		if (!exhausted) {
			if (learned.size > 10_000) learned.clear();
			learned.set(key, window);
			learned.set(batchId, window);
		}
	}
	if (env().send.trace) {
		const ms = Math.round(performance.now() - stats.started);
		log.info({ batchId, lane: opts.lane, ms, claimed: claimedTotal, window, latencyMs: Math.round(latency), ...stats, claimMs: Math.round(stats.claimMs), claimMaxMs: Math.round(stats.claimMaxMs), started: undefined }, 'http window');
	}
	if (flushError) throw flushError;
	return { stopped, exhausted };
}
