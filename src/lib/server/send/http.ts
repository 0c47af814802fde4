import { sql, transaction } from '../db/client';
import { render, type RenderContact } from '../templates/render';
import { channelFor } from '../channels/registry';
import { whenWritten } from '../channels/http';
import { bucketCtes, bucketUpdate, bucketWaitMs, ensureBucket } from '../channels/limiter';
import { messageKey, type Channel, type ChannelRow } from '../channels/types';
import { WORKER_PROCESS_ID } from '../jobs/recovery';
import { errorOutcome, recordOutcomes, sentOutcome, skippedOutcome } from './outcomes';
import { settleUnrecorded } from './recovery';
import { checkBreaker, haltOnAuthError } from './guards';
import { dbNowMs, sleep, waitUntilPerf } from './clock';
import type { ClaimedRow, CountDelta, ItemOutcome, PacedStep, SliceResult } from './types';
import { env } from '../env';
import { publishBatchUpdate } from '../events/publish';
import { logger } from '../log';

const log = logger.child({ module: 'send' });

/** A claimed row, with (paced) when the batch was due and when its next send may start. */
type Claimed = ClaimedRow & { due_ms: number | null; next_ms: number | null };

/**
 * Claims up to `limit` pending items of a PROCESSING batch in ONE statement (its own
 * short transaction): status check, claim (status `sending`, this process as claimant)
 * and the recipients' contact rows. The first row always carries the batch status.
 * The batch row is read FOR KEY SHARE (unpaced: lanes do not block each other; a cancel
 * or pause, which locks it FOR UPDATE, waits for a claim in progress and is seen by
 * every later one) or FOR NO KEY UPDATE (paced: two steps never both pass the due check,
 * and the step moves next_send_at in the same statement).
 */
async function claim(batchId: string, limit: number, paced?: { leadMs: number; gapMs: number }): Promise<Claimed[]> {
	const ex = sql();
	const lock = paced ? ex`for no key update` : ex`for key share`;
	const lead = paced ? paced.leadMs / 1000 : 0;
	// Paced: due a little ahead of time (the lead) so that the claim and the render are
	// done when the send's time comes; the send itself waits for the time (sendAt below).
	// next_send_at moves provisionally to (due or now) + gap, so nothing else can pass
	// before this send has happened; once it has, it moves to "written + gap".
	return ex<Claimed[]>`
		with b as (
			select status, (next_send_at is null or next_send_at <= clock_timestamp() + make_interval(secs => ${lead}::float8)) as due,
				(extract(epoch from next_send_at) * 1000)::float8 as due_ms
			from batch_operations where id = ${batchId} ${lock}),
		picked as (
			select id from batch_items
			where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				and exists (select 1 from b where status = 'PROCESSING' and due)
			order by id limit ${limit} for update skip locked),
		claimed as (
			update batch_items i set status = 'sending', attempts = i.attempts + 1, claimed_by = ${WORKER_PROCESS_ID},
				claimed_at = now(), updated_at = now()
			from picked where i.id = picked.id
			returning i.id, i.contact_id, i.attempts),
		moved as (
			update batch_operations set next_send_at = greatest(coalesce(next_send_at, clock_timestamp()), clock_timestamp())
				+ make_interval(secs => ${paced ? paced.gapMs / 1000 : 0}::float8)
			where id = ${batchId} and ${paced ? ex`true` : ex`false`} and exists (select 1 from claimed)
			returning (extract(epoch from next_send_at) * 1000)::float8 as next_ms)
		select b.status, b.due, b.due_ms, (select next_ms from moved) as next_ms, c.id::int as id, c.attempts,
			ct.phone_e164 as phone, ct.name, ct.attributes, coalesce(ct.opted_out_at is not null, false) as opted_out,
			(c.id is not null and ct.id is null) as gone
		from b left join (claimed c left join contacts ct on ct.id = c.contact_id) on true
		order by c.id`;
}

type Wave = Claimed & { available: number | null; refill: number | null; cap: number | null };

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
	return ex<Wave[]>`
		with ${bucketCtes(ex, channelId)},
		b as (select status from batch_operations where id = ${batchId} for key share),
		picked as (
			select id from batch_items
			where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				and exists (select 1 from b where status = 'PROCESSING')
			order by id limit least(${want}::int, (select available from av))
			for update skip locked),
		claimed as (
			update batch_items i set status = 'sending', attempts = i.attempts + 1, claimed_by = ${WORKER_PROCESS_ID},
				claimed_at = now(), updated_at = now()
			from picked where i.id = picked.id
			returning i.id, i.contact_id, i.attempts),
		used as (${bucketUpdate(ex, ex`(select count(*)::int from claimed)`)})
		select b.status, true as due, null::float8 as due_ms, null::float8 as next_ms, av.available, av.refill::float8 as refill, av.cap,
			c.id::int as id, c.attempts, ct.phone_e164 as phone, ct.name, ct.attributes,
			coalesce(ct.opted_out_at is not null, false) as opted_out, (c.id is not null and ct.id is null) as gone
		from b left join av on true left join (claimed c left join contacts ct on ct.id = c.contact_id) on true
		order by c.id`;
}

/** What becomes of a claimed row before any call: skipped, or a message to send. */
type Message = { id: number; attempts: number; to: string; text: string; key: string; contact: RenderContact };

function prepare(batchId: string, body: string, it: Claimed): ItemOutcome | Message {
	const id = it.id!;
	if (it.gone) return skippedOutcome(id, 'contact_deleted');
	if (it.opted_out) return skippedOutcome(id, 'opted_out');
	// The contact's fields go along too: a channel may fill a provider template from them.
	const contact = { name: it.name, phone: it.phone, attributes: it.attributes };
	return { id, attempts: it.attempts, to: it.phone!, text: render(body, contact).text, key: messageKey(batchId, id), contact };
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
	const stats = { waves: 0, tokenWaits: 0, fullWaits: 0, started: performance.now() };

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
	// Refusals (failed, unknown) among the outcomes not recorded yet, and over the lane's
	// answers (sent, failed, unknown) in this job.
	let pendingRefused = 0;
	let laneRefused = 0;
	let laneAnswered = 0;
	const flush = () => {
		if (pending.length === 0) return flushing;
		const batch = pending.splice(0, pending.length);
		pendingRefused = 0;
		flushing = flushing.then(async () => {
			try {
				const d = await transaction((tx) => recordOutcomes(tx, batchId, batch, false));
				opts.onRecorded(d);
				await checkBreaker(batchId, d, batch);
			} catch (e) {
				// Outcomes could not be written (database trouble): settle these claims as a
				// dead worker's would be, so they are neither stuck in `sending` nor re-sent blindly.
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
			pendingRefused++;
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
		} else if (wasFull && !tokenShort) {
			// Doubling per latency, like TCP's slow start: at 200 ms, 10 → 320 in a second.
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
		void sendOne(channel, channelRow, m).then((o) => {
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
				if (pendingRefused > 0) await flush();
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
			const rows = await claimWithTokens(batchId, channel.id, claimable);
			const head = rows[0];
			if (!head || head.status !== 'PROCESSING') {
				stopped = true;
				break;
			}
			const items = head.id !== null ? rows : [];
			if (head.available === 0) {
				// The bucket is empty: the channel's cap, not the window, is the limit now.
				// Wait for enough tokens to make a wave worth its statement, but look again
				// before the bucket (2% of the cap, channels/limiter.ts) could fill up and
				// overflow: at 1 000/s it holds 20, which refill in about 20 ms.
				tokenShort = true;
				stats.tokenWaits++;
				const waitMs = bucketWaitMs({ refill: head.refill ?? 1 });
				await sleep(Math.max(waitMs, Math.min(waitMs * free, (1000 * (head.cap ?? 1)) / (head.refill ?? 1) / 2)));
				continue;
			}
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
		log.info({ batchId, lane: opts.lane, ms, claimed: claimedTotal, window, latencyMs: Math.round(latency), ...stats, started: undefined }, 'http window');
	}
	if (flushError) throw flushError;
	return { stopped, exhausted };
}

async function sendOne(channel: Channel, row: ChannelRow, m: Message, onWritten?: () => void) {
	try {
		const send = () => channel.send({ to: m.to, body: m.text, idempotencyKey: m.key, contact: m.contact });
		const id = onWritten ? await whenWritten(onWritten, send) : await send();
		return sentOutcome(m.id, id);
	} catch (e) {
		// Refused credentials pause the channel's batches now: the next wave's status check stops this lane.
		await haltOnAuthError(row, e);
		return errorOutcome(m.id, m.attempts, e, channel.capabilities);
	}
}


/**
 * What a paced lane keeps between its steps: when (this process's monotonic clock) the
 * last request was written and the gap drawn after it, and how long a step takes from
 * its start to the send (the lead it starts ahead by).
 */
export type PacedHttpState = {
	lastWrittenPerf: number | null;
	lastGapMs: number;
	leadMs: number;
	writeMinMs: number;
	/** The previous request's answer being awaited and recorded (settlePaced). */
	inflight: Promise<void> | null;
};
export const pacedHttpState = (): PacedHttpState => ({ lastWrittenPerf: null, lastGapMs: 0, leadMs: 5, writeMinMs: 0, inflight: null });

/**
 * One paced send to a provider over HTTP. The schedule is defined by when requests
 * were written to the provider, not by when they were claimed: each request goes out
 * no sooner than the previous one's write + its gap (base + jitter draw), on the
 * database clock across jobs and processes, and on this process's monotonic clock
 * within a job. A late send therefore delays the rest and never shortens a gap.
 * Measured before: due times computed at claim let the request reach the receiver
 * after a variable delay and the schedule catch up after a late one (gaps down to
 * 35 ms at 100 ms). To keep the mean on target, the step starts `leadMs` early (the
 * claim, contact read and render measured on earlier steps) and then waits for the
 * exact time; the lateness left is the write itself (well under a millisecond).
 * The step returns once the request is written; its answer is recorded meanwhile, and
 * the next request waits for it (one in flight per paced batch), so the rate holds
 * while the provider answers within the interval.
 */
export async function httpPacedStep(
	batchId: string,
	channelRow: ChannelRow,
	body: string,
	paced: PacedStep,
	st: PacedHttpState
): Promise<SliceResult> {
	const channel = channelFor(channelRow);
	const gapMs = paced.baseMs + (paced.jitterMs > 0 ? Math.random() * paced.jitterMs : 0);
	const t0 = performance.now();
	const rows = await claim(batchId, 1, { leadMs: st.leadMs, gapMs });
	const head = rows[0];
	if (!head || head.status !== 'PROCESSING') return { claimed: 0, stopped: true };
	if (!head.due) return { claimed: 0, stopped: false, early: true };
	if (head.id === null) return { claimed: 0, stopped: false };
	const p = prepare(batchId, body, head);
	if ('status' in p) {
		const delta = await recordOne(batchId, p, null, gapMs);
		return { claimed: 1, stopped: false, delta, nextDueMs: head.next_ms };
	}
	st.leadMs = Math.min(Math.max(2, paced.baseMs / 2), Math.max(2, st.leadMs * 0.95, performance.now() - t0 + 2));
	// The time: the due time on the database clock, and within this job, the previous
	// write + its gap on the monotonic clock (immune to a re-measured clock offset).
	const dueLocal = head.due_ms === null ? 0 : performance.now() + (head.due_ms - dbNowMs());
	const afterLast = st.lastWrittenPerf === null ? 0 : st.lastWrittenPerf + st.lastGapMs;
	// The call starts by the shortest time a call has taken to put its request on the
	// wire (building and signing the body, undici's dispatch: 0.4-1.4 ms measured
	// here), so that the write itself lands at the time. The shortest, not the mean:
	// a write can then only be late, never early, except by the rare call faster
	// than any recent one (the estimate creeps up 0.02 ms a step and drops at once).
	const sendAt = Math.max(dueLocal, afterLast) - st.writeMinMs;
	// One request of a paced batch at a time: the previous one's answer first.
	await settlePaced(st);
	await waitUntilPerf(sendAt);
	const called = performance.now();
	let writtenDb: number | null = null;
	let onWritten!: () => void;
	const written = new Promise<void>((r) => (onWritten = r));
	const answered = sendOne(channel, channelRow, p, () => {
		const writeMs = performance.now() - called;
		st.writeMinMs = Math.min(writeMs, st.writeMinMs + 0.02);
		writtenDb = dbNowMs();
		st.lastWrittenPerf = performance.now();
		st.lastGapMs = gapMs;
		onWritten();
		if (env().send.trace) log.info({ batchId, lateMs: head.due_ms === null ? null : +(writtenDb - head.due_ms).toFixed(2), writeMs: +writeMs.toFixed(2), leadMs: +st.leadMs.toFixed(2) }, 'paced write');
	});
	// The next step is timed from the write, not from the answer: the answer and its
	// recording go on in the background while the next step prepares (measured: waiting
	// for them made one step in ten start late on a loaded machine, the mean 4-7% long).
	await Promise.race([written, answered]);
	st.inflight = answered.then(async (outcome) => {
		await recordOne(batchId, outcome, writtenDb, gapMs);
		void publishBatchUpdate(batchId).catch(() => {});
	});
	st.inflight.catch(() => {});
	return { claimed: 1, stopped: false, nextDueMs: writtenDb === null ? head.next_ms : Math.max(head.next_ms ?? 0, writtenDb + gapMs) };
}

/** Waits for the paced lane's request in flight to be answered and recorded; throws what recording it threw. */
export async function settlePaced(st: PacedHttpState) {
	const f = st.inflight;
	st.inflight = null;
	if (f) await f;
}

/**
 * Records one paced outcome; moves next_send_at to "written + gap" (never back: the
 * next step may have moved it further already).
 */
async function recordOne(batchId: string, outcome: ItemOutcome, writtenDb: number | null, gapMs: number): Promise<CountDelta> {
	let delta: CountDelta;
	try {
		delta = await transaction(async (tx) => {
			const d = await recordOutcomes(tx, batchId, [outcome], false);
			if (writtenDb !== null) {
				await tx`update batch_operations set next_send_at = greatest(next_send_at, to_timestamp(${(writtenDb + gapMs) / 1000}::float8))
					where id = ${batchId}`;
			}
			return d;
		});
	} catch (e) {
		await resolveUnrecorded([outcome.id]).catch(() => {});
		throw e;
	}
	await checkBreaker(batchId, delta, [outcome]);
	return delta;
}

/** Claims whose outcomes could not be written: settled as a dead worker's are. */
async function resolveUnrecorded(ids: number[]) {
	await transaction((tx) =>
		settleUnrecorded(tx, tx`i.id = any(${ids}::bigint[])`, {
			code: 'outcome_not_recorded',
			message: 'The outcome of the send could not be recorded: the provider may or may not have it'
		})
	);
}
