import { sql, transaction } from '../db/client';
import { capabilitiesOf, channelFor, loadChannelRow } from '../channels/registry';
import { ChannelError, DEFAULT_CHANNEL_ID } from '../channels/types';
import { DomainError } from '../errors';
import type { ChannelRow } from '../channels/types';
import { giveBackTokens, takeTokens } from '../channels/limiter';
import { publishBatchUpdate } from '../events/publish';
import { findBatch, transitionBatch, type BatchRow } from '../batches/repository';
import { enqueueSlice, sliceJobKey } from './jobs';
import { dbNowMs, sleep, sleepUntilDb, syncDbClock } from './clock';
import { baseIntervalMs } from './pacing';
import { sandboxSlice } from './sandbox';
import type { PacedStep, SliceResult } from './types';
import { httpWindow } from './http-window';
import { httpPacedStep, pacedHttpState, settlePaced } from './http-paced';
import { fastPathApplies, prepareNext, sendPrepared, type Prepared } from './paced';
import { env } from '../env';
import { logger } from '../log';

/** A wait longer than this goes back to the queue (run_at) instead of a sleeping worker. */
export const PARK_MS = 1_000;
/** How long one job keeps working before handing over to a fresh job (fairness, shutdown). */
const budgetMs = () => env().send.sliceBudgetMs;
/** A slice that only writes the database (HTTP channels run a window instead, send/http.ts). */
const sliceSize = () => env().send.sandboxSlice;

const log = logger.child({ module: 'send' });
/** SEND_TRACE=1 logs each slice's size and duration, each paced step's lateness (benchmarks). */
const trace = () => env().send.trace;

let stopping = false;
/** SIGTERM: slices finish what is in flight, hand the rest to another job, and return. */
export function stopSending() {
	stopping = true;
}
/** A worker (re)starting in this process sends again. */
export function startSending() {
	stopping = false;
}
const isStopping = () => stopping;

/** Set by this process's send scheduler: wakes a slice job (by key) in `inMs` exactly. */
let handOverWakeUp: ((key: string, inMs: number) => void) | null = null;
export function setHandOverWakeUp(fn: ((key: string, inMs: number) => void) | null) {
	handOverWakeUp = fn;
}

/** The job `send:slice`: advances one lane of one SEND batch by a bounded amount of work. */
export async function runSendSlice(batchId: string, lane: number, spawn: boolean): Promise<void> {
	if (trace()) log.info({ batchId, lane, spawn }, 'slice job');
	let batch = await findBatch(batchId);
	if (!batch || batch.type !== 'SEND') return;
	if (batch.status === 'PENDING') {
		if (!(await waitForStart(batch, lane))) return;
		const started = await transitionBatch(batchId, 'PROCESSING', { from: ['PENDING'] });
		if (trace() && batch.scheduledAt) log.info({ batchId, lateMs: +(dbNowMs() - batch.scheduledAt.getTime()).toFixed(1) }, 'scheduled start');
		// The first start opens the other lanes (a scheduler wake-up may have dropped the flag).
		if (started) spawn = true;
		batch = started ?? (await findBatch(batchId))!;
	}
	if (batch.status !== 'PROCESSING') return;
	// A channel that is gone, disabled or misconfigured cannot run this batch: that is
	// what FAILED means (a batch with some failed recipients still COMPLETES).
	let channel: ChannelRow;
	try {
		channel = await loadChannelRow(batch.channelId ?? DEFAULT_CHANNEL_ID, true);
		if (!channel.enabled) throw new Error(`Channel "${channel.id}" is disabled.`);
		channelFor(channel);
	} catch (e) {
		if (e instanceof DomainError || e instanceof ChannelError || (e instanceof Error && /disabled/.test(e.message))) {
			await cancelPendingAsFailed(batch.id, (e as Error).message);
			return;
		}
		throw e;
	}
	const body = String((batch.input as { body?: unknown }).body ?? '');
	if (batch.ratePerMinute) return runPaced(batch, channel, body);
	return runUnpaced(batch, channel, body, lane, spawn && lane === 0);
}

/** Scheduled start: never early on the database clock; a far start goes back to run_at. */
async function waitForStart(batch: BatchRow, lane: number): Promise<boolean> {
	if (!batch.scheduledAt) return true;
	await syncDbClock();
	const at = batch.scheduledAt.getTime();
	if (at - dbNowMs() > PARK_MS) {
		await enqueueSlice(batch, { lane, runAt: batch.scheduledAt, spawn: true });
		return false;
	}
	await sleepUntilDb(at);
	// The local estimate of the database clock could be off by a fraction of a ms: ask.
	for (;;) {
		const [r] = await sql()<{ left: number }[]>`select (extract(epoch from (${batch.scheduledAt}::timestamptz - clock_timestamp())) * 1000)::float8 as left`;
		if (r.left <= 0) return true;
		await sleep(Math.ceil(r.left));
	}
}

/**
 * As fast as the channel allows: slice after slice until the budget is spent. Lane 0
 * opens the other lanes after its first full slice (a small batch never needs them).
 */
async function runUnpaced(batch: BatchRow, channel: ChannelRow, body: string, lane: number, spawn: boolean) {
	const deadline = Date.now() + budgetMs();
	if (!capabilitiesOf(channel.kind).batchSend) {
		const r = await httpWindow(batch.id, channel, body, {
			lane,
			deadline,
			stopping: isStopping,
			onRecorded: (d) => {
				if (d.processed) void publishBatchUpdate(batch.id).catch(() => {});
			},
			// Lane 0 opens the other lanes once the batch has shown it is not tiny.
			onBusy: async () => {
				if (!spawn) return;
				spawn = false;
				await Promise.all(Array.from({ length: env().send.lanes - 1 }, (_, i) => enqueueSlice(batch, { lane: i + 1 })));
			}
		});
		if (r.stopped) return afterStop(batch, lane);
		if (r.exhausted) return finishOrPark(batch, lane);
		return enqueueSlice(batch, { lane });
	}
	const size = sliceSize();
	for (;;) {
		if (isStopping() || Date.now() > deadline) return enqueueSlice(batch, { lane });
		const { granted, waitMs } = await takeTokens(channel.id, size);
		if (!granted) {
			await sleep(waitMs);
			continue;
		}
		const t0 = trace() ? performance.now() : 0;
		const r = await runOne(batch.id, channel, body, granted);
		if (trace()) log.info({ batchId: batch.id, lane, claimed: r.claimed, ms: Math.round(performance.now() - t0) }, 'slice');
		if (r.claimed < granted) await giveBackTokens(channel.id, granted - r.claimed);
		if (r.delta) void publishBatchUpdate(batch.id).catch(() => {});
		if (r.stopped) return afterStop(batch, lane);
		// Recipients held for their quiet window took the slice: others may be ready behind them.
		if (r.claimed === 0 && r.held) continue;
		if (r.claimed === 0) return finishOrPark(batch, lane);
		if (spawn && r.claimed === granted) {
			spawn = false;
			await Promise.all(Array.from({ length: env().send.lanes - 1 }, (_, i) => enqueueSlice(batch, { lane: i + 1 })));
		}
	}
}

/** A paced job keeps the batch this long before handing over (waits under PARK_MS sleep in it). */
const pacedBudgetMs = () => env().send.pacedBudgetMs;

async function runPaced(batch: BatchRow, channel: ChannelRow, body: string) {
	const paced: PacedStep = { baseMs: baseIntervalMs(batch.ratePerMinute), jitterMs: batch.jitterMs ?? 0 };
	const deadline = Date.now() + pacedBudgetMs();
	// Channel tokens for about the next second of sends, taken in one call and given
	// back at the end, so the shared bucket's row lock is not taken once per message.
	const perCall = Math.max(1, Math.ceil(PARK_MS / Math.max(1, paced.baseMs)));
	let allowance = 0;
	await syncDbClock();
	const [b0] = await sql()<{ status: string; due_ms: number | null }[]>`
		select status, (extract(epoch from next_send_at) * 1000)::float8 as due_ms from batch_operations where id = ${batch.id}`;
	if (b0?.status !== 'PROCESSING') return;
	let dueMs = b0.due_ms;
	const http = !capabilitiesOf(channel.kind).batchSend;
	const httpState = pacedHttpState();
	const fast = fastPathApplies(channel);
	// How long after it is sent the fast path's statement reads its clock (the send's
	// time): the shortest seen lately (it creeps up 0.02 ms a step, drops at once). The
	// statement refuses to send before its time, so firing by this much early costs
	// nothing when it is right; measured, firing at the time made each gap 1.3-1.9 ms
	// long (the statement's planning and the round trip), the mean 21.3-21.9 ms for 20.
	let stmtLeadMs = 0;
	let prepared: Prepared | null = fast ? await prepareNext(batch.id, body) : null;
	try {
		for (;;) {
			if (dueMs !== null) {
				// An HTTP step starts its lead early and waits for the exact time itself; a
				// database step fires a hair after the time, so that our estimate of the
				// database clock being a little ahead does not make it early.
				const wakeAt = http ? dueMs - httpState.leadMs : dueMs - Math.max(0, stmtLeadMs - DB_STEP_MARGIN_MS);
				const wait = wakeAt - dbNowMs();
				// A long wait, the end of this job's budget or a shutdown: hand over to a job
				// due then (the scheduler starts it on time).
				if (wait > PARK_MS || isStopping() || Date.now() + Math.max(0, wait) > deadline) {
					await settlePaced(httpState);
					const left = dueMs - dbNowMs();
					await enqueueSlice(batch, { runAt: left > 0 ? new Date(dueMs) : undefined });
					// The budget is spent with the next send moments away: have it started on
					// time (a late start is never made up; measured, graphile's poll found the
					// job ~1 s late, the mean of bench:pacing 21.4-21.9 ms for 20).
					if (wait <= PARK_MS && !isStopping()) handOverWakeUp?.(sliceJobKey(batch.id, 0), Math.max(0, left));
					return;
				}
				if (wait > 0) await sleepUntilDb(wakeAt);
			} else if (isStopping() || Date.now() > deadline) {
				await settlePaced(httpState);
				return await enqueueSlice(batch);
			}
			if (allowance === 0) {
				const { granted, waitMs } = await takeTokens(channel.id, perCall);
				if (!granted) {
					await sleep(waitMs);
					continue;
				}
				allowance = granted;
			}
			const t0 = trace() ? performance.now() : 0;
			let r: SliceResult | undefined;
			if (prepared) {
				const firedAt = dbNowMs();
				const quick = await sendPrepared(batch.id, channel, prepared, paced);
				if (quick.sentAtMs !== undefined) stmtLeadMs = Math.min(quick.sentAtMs - firedAt, stmtLeadMs + 0.02);
				if (!quick.early) prepared = null;
				if (quick.sent || quick.stopped || quick.early) r = quick;
			}
			r ??= http ? await httpPacedStep(batch.id, channel, body, paced, httpState) : await runOne(batch.id, channel, body, 1, paced);
			if (trace()) log.info({ batchId: batch.id, ms: +(performance.now() - t0).toFixed(1), lateMs: dueMs === null ? null : +(dbNowMs() - dueMs).toFixed(1) }, 'paced step');
			if (r.early) {
				// Our estimate of the database clock ran ahead: measure it again.
				await syncDbClock(true);
				const [b] = await sql()<{ due_ms: number | null }[]>`
					select (extract(epoch from next_send_at) * 1000)::float8 as due_ms from batch_operations where id = ${batch.id}`;
				dueMs = b?.due_ms ?? null;
				continue;
			}
			// The step's recipient is in its quiet window and held: the next one may go at the same time.
			if (r.claimed === 0 && r.held) {
				if (fast) prepared = await prepareNext(batch.id, body);
				continue;
			}
			if (r.claimed > 0) allowance--;
			if (r.delta) void publishBatchUpdate(batch.id).catch(() => {});
			// The last request's answer is recorded before the batch is handed over or finished.
			if (r.stopped || r.claimed === 0) await settlePaced(httpState);
			if (r.stopped) return await afterStop(batch, 0);
			if (r.claimed === 0) return await finishOrPark(batch, 0);
			dueMs = r.nextDueMs ?? null;
			// Read and render the next recipient now, while waiting for its time.
			if (fast) prepared = await prepareNext(batch.id, body);
		}
	} finally {
		// An exit by an exception: the answer still gets recorded (or its claim settled).
		await settlePaced(httpState).catch(() => {});
		if (allowance > 0) await giveBackTokens(channel.id, allowance);
	}
}

/**
 * How much later than stmtLeadMs says a database paced step fires: the statement itself
 * refuses to send early (and an early one costs a clock re-measure, ~2 ms); this keeps
 * that rare when the estimate is off by its usual tenth of a millisecond.
 */
const DB_STEP_MARGIN_MS = 0.2;

/** A slice of a channel that delivers by database write (the sandbox). */
function runOne(batchId: string, channel: ChannelRow, body: string, limit: number, paced?: PacedStep): Promise<SliceResult> {
	return sandboxSlice(batchId, channel, body, limit, paced);
}


/**
 * A lane that stopped (shutdown, or the batch no longer PROCESSING) after its sends in
 * flight were recorded. Stopped by a pause that a resume has already undone, it goes
 * on: the resume's own job may have run while this lane still held items in flight,
 * found nothing to claim and left the batch to this lane (finishOrPark), which would
 * otherwise leave a resumed batch PROCESSING with nothing running (found by chaos d).
 */
async function afterStop(batch: Pick<BatchRow, 'id' | 'ratePerMinute'>, lane: number) {
	if (isStopping()) return enqueueSlice(batch, { lane });
	const [b] = await sql()<{ status: string }[]>`select status from batch_operations where id = ${batch.id}`;
	if (b?.status === 'PROCESSING') return enqueueSlice(batch, { lane });
}

/**
 * Nothing claimable right now: items waiting for a retry park this lane until the
 * earliest one; items in flight elsewhere are that lane's to finish; none left at
 * all completes the batch (once, whichever lane gets there: the transition is atomic).
 */
export async function finishOrPark(batch: Pick<BatchRow, 'id' | 'ratePerMinute'>, lane: number) {
	const [s] = await sql()<{ ready: number; pending: number; sending: number; next_at: Date | null }[]>`
		select count(*) filter (where status = 'pending' and (not_before is null or not_before <= now()))::int as ready,
			count(*) filter (where status = 'pending')::int as pending,
			count(*) filter (where status = 'sending')::int as sending,
			min(not_before) filter (where status = 'pending') as next_at
		from batch_items where batch_id = ${batch.id} and status in ('pending', 'sending')`;
	if (s.ready > 0) return enqueueSlice(batch, { lane });
	if (s.pending > 0) return enqueueSlice(batch, { lane, runAt: s.next_at ?? undefined });
	if (s.sending > 0) return;
	await transitionBatch(batch.id, 'COMPLETED', { from: ['PROCESSING'] });
}

/**
 * The batch cannot run (also its job's final failure, worker/task.ts): FAILED with the
 * reason, and its unsent items cancelled, together; a batch that can no longer become
 * FAILED (paused, finished) keeps its items.
 */
export async function cancelPendingAsFailed(batchId: string, reason: string) {
	await transaction(async (tx) => {
		if (!(await transitionBatch(batchId, 'FAILED', { error: reason, tx }))) return;
		await tx`
			update batch_items
			set status = 'cancelled', updated_at = now()
			where batch_id = ${batchId}
				and status = 'pending'`;
	});
}
