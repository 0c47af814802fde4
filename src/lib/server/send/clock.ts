import { sql } from '../db/client';

/**
 * The database clock, read from this process. Scheduled starts and pacing are
 * defined on the database clock (every process agrees on it); the offset to the
 * local clock is measured with the round trip halved and refreshed now and then.
 */
let offsetMs = 0;
let measuredAt = 0;
const REFRESH_MS = 15_000;

export async function syncDbClock(force = false): Promise<number> {
	if (!force && Date.now() - measuredAt < REFRESH_MS) return offsetMs;
	let best = Infinity;
	for (let i = 0; i < 3; i++) {
		const t0 = localNowMs();
		const [row] = await sql()<{ ms: number }[]>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
		const rtt = localNowMs() - t0;
		if (rtt < best) {
			best = rtt;
			offsetMs = row.ms - (t0 + rtt / 2);
		}
	}
	measuredAt = Date.now();
	return offsetMs;
}

/**
 * This process's clock in ms with sub-millisecond resolution. Date.now() counts whole
 * milliseconds: with it, the estimate of the database clock was off by up to 1 ms each
 * way, which made paced sends on the sandbox 1.3-1.7 ms late on average (a 20 ms
 * interval came out 21.3-21.7 ms). The monotonic clock may drift from the wall clock;
 * the offset is measured again every REFRESH_MS.
 */
function localNowMs(): number {
	return performance.timeOrigin + performance.now();
}

/** The database's "now" in ms, estimated locally (sync first). */
export function dbNowMs(): number {
	return localNowMs() + offsetMs;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Sleeps until the database clock reaches `atMs`, waking late by a fraction of a
 * millisecond rather than early (waitUntilPerf).
 */
export async function sleepUntilDb(atMs: number): Promise<void> {
	await waitUntilPerf(performance.now() + (atMs - dbNowMs()));
}

/**
 * Waits until performance.now() reaches `at`. Timers fire up to ~1.5 ms late (and may
 * fire early), which on a 20 ms pacing interval alone is 5% of the gap: sleep until
 * 2 ms before, then yield with setImmediate until the time. The spin costs at most
 * 2 ms of a yielding loop per paced send.
 */
export async function waitUntilPerf(at: number): Promise<void> {
	for (;;) {
		const left = at - performance.now();
		if (left <= 0) return;
		if (left > 2) await sleep(left - 2);
		else await new Promise<void>((r) => setImmediate(r));
	}
}
