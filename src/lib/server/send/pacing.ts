/**
 * Pacing maths for SEND batches, pure so it can be tested without a database.
 * A paced batch sends one message at a time: consecutive sends at least
 * 60000 / ratePerMinute ms apart, plus a uniform random extra in [0, jitterMs].
 */
export { estimateDurationMs, formatDuration } from '../../schemas/send';

/** The fixed part of the gap between two sends of one batch, in ms (0 = unpaced). */
export function baseIntervalMs(ratePerMinute: number | null | undefined): number {
	if (!ratePerMinute || ratePerMinute <= 0) return 0;
	return 60_000 / ratePerMinute;
}

/** One gap: the base interval plus a uniform draw in [0, jitterMs]. */
export function nextGapMs(ratePerMinute: number | null | undefined, jitterMs: number | null | undefined, rand = Math.random): number {
	const jitter = jitterMs && jitterMs > 0 ? rand() * jitterMs : 0;
	return baseIntervalMs(ratePerMinute) + jitter;
}

/**
 * How late a paced batch's sends land behind their due times, per batch in this process.
 * Every gap is at least base + a draw, counted from the previous send's actual time, so
 * the lateness of each send (the timer firing late, the event loop busy, the process
 * descheduled on a loaded machine) adds to the gap and is never made up: measured, it
 * put bench:pacing's mean 1.8-4.6% over target at 10 ms + jitter 20 (0.4-0.9 ms a send,
 * about half of it from sends more than 2 ms late). The lateness is itself a random
 * extra on top of the interval, so the next gap draws that much less jitter: base +
 * max(0, draw - typical lateness). No gap is ever under the base interval (nor, with jitter, under base + 1 ms), a gap is
 * still never shortened by an earlier send being late (the lateness is a running
 * average, not this send's), and the mean comes back to base + jitter/2. With no jitter
 * there is nothing to draw less of: accuracy then rests on firing on time alone.
 */
export class Lateness {
	private avg = 0;
	/** One send's lateness (ms behind its due time); clamped so one hand-over between jobs does not swamp it. */
	observe(lateMs: number, jitterMs: number) {
		const x = Math.min(Math.max(lateMs, 0), Math.max(jitterMs, 0));
		this.avg += LATENESS_WEIGHT * (x - this.avg);
	}
	get ms() {
		return this.avg;
	}
	/**
	 * The next gap: base + a draw in [0, jitterMs] less the typical lateness, and at least
	 * base + LATENESS_FLOOR_MS (or the whole jitter when smaller): a gap of exactly the
	 * interval at the sender shows up shorter at a receiver whose own stamping is late by
	 * a fraction of a millisecond (bench:providers saw 17.3 ms for 20 on a loaded machine
	 * when one draw in four came out at the floor).
	 */
	gapMs(paced: { baseMs: number; jitterMs: number }, rand = Math.random): number {
		if (paced.jitterMs <= 0) return paced.baseMs;
		const floor = Math.min(paced.jitterMs, LATENESS_FLOOR_MS);
		return paced.baseMs + Math.max(floor, rand() * paced.jitterMs - this.avg);
	}
}
/** Weight of the newest send in the running average (about the last 30 sends count). */
const LATENESS_WEIGHT = 0.03;
const LATENESS_FLOOR_MS = 1;

const latenessByBatch = new Map<string, Lateness>();
/** The batch's tracker in this process (kept across its jobs; the oldest dropped past a bound). */
export function latenessOf(batchId: string): Lateness {
	let l = latenessByBatch.get(batchId);
	if (!l) {
		if (latenessByBatch.size >= 1000) latenessByBatch.delete(latenessByBatch.keys().next().value!);
		l = new Lateness();
		latenessByBatch.set(batchId, l);
	}
	return l;
}

/** The mean gap, what a long run converges to. */
export function expectedGapMs(ratePerMinute: number | null | undefined, jitterMs: number | null | undefined): number {
	return baseIntervalMs(ratePerMinute) + (jitterMs && jitterMs > 0 ? jitterMs / 2 : 0);
}

/** Back-off before retry `attempt` (1-based) of a failed send: exponential, capped, with jitter. */
export function retryDelayMs(attempt: number, retryAfterMs?: number | null, rand = Math.random, baseMs = 1000): number {
	if (retryAfterMs && retryAfterMs > 0) return retryAfterMs;
	const base = Math.min(60_000, baseMs * 2 ** Math.max(0, attempt - 1));
	return Math.round(base * (0.75 + rand() * 0.5));
}

export const MAX_ATTEMPTS = 5;
