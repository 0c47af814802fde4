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
