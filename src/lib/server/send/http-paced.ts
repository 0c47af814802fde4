import { transaction } from '../db/client';
import { channelFor } from '../channels/registry';
import type { ChannelRow } from '../channels/types';
import { recordOutcomes } from './outcomes';
import { checkBreaker } from './guards';
import { dbNowMs, waitUntilPerf } from './clock';
import { latenessOf } from './pacing';
import type { CountDelta, ItemOutcome, PacedStep, SliceResult } from './types';
import { env } from '../env';
import { publishBatchUpdate } from '../events/publish';
import { logger } from '../log';
import { claim, prepare, resolveUnrecorded, sendOne } from './http';
import { released } from './claims';

const log = logger.child({ module: 'send' });

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
	// The draw less the typical lateness of this batch's writes (pacing.ts Lateness).
	const lateness = latenessOf(batchId);
	const gapMs = lateness.gapMs(paced);
	// One request of a paced batch at a time: the previous one's answer first, before the
	// next item is claimed. Claimed first, the next item waited `sending` behind an
	// unanswered request, and a worker killed then left it `unknown` on a channel that
	// cannot deduplicate, though it was never sent (send-crash test, loaded CI).
	await settlePaced(st);
	const t0 = performance.now();
	const rows = await claim(batchId, 1, { leadMs: st.leadMs, gapMs });
	const head = rows[0];
	if (!head || head.status !== 'PROCESSING') return { claimed: 0, stopped: true };
	if (!head.due) return { claimed: 0, stopped: false, early: true };
	if (head.id === null) return { claimed: 0, stopped: false, held: head.held };
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
	const target = Math.max(dueLocal, afterLast);
	const sendAt = target - st.writeMinMs;
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
		if (head.due_ms !== null || afterLast > 0) lateness.observe(st.lastWrittenPerf - target, paced.jitterMs);
		st.lastGapMs = gapMs;
		onWritten();
		if (env().send.trace) log.info({ batchId, lateMs: head.due_ms === null ? null : +(writtenDb - head.due_ms).toFixed(2), writeMs: +writeMs.toFixed(2), leadMs: +st.leadMs.toFixed(2) }, 'paced write');
	});
	// The next step is timed from the write, not from the answer: the answer and its
	// recording go on in the background while the next step prepares (measured: waiting
	// for them made one step in ten start late on a loaded machine, the mean 4-7% long).
	await Promise.race([written, answered]);
	st.inflight = answered.then(async (outcome) => {
		await recordOne(batchId, { ...outcome, claim: p.attempts }, writtenDb, gapMs);
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
	released([outcome.id]);
	await checkBreaker(batchId, delta, outcome.id);
	return delta;
}
