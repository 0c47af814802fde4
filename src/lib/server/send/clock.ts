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
		const t0 = performance.now();
		const wall0 = Date.now();
		const [row] = await sql()<{ ms: number }[]>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`;
		const rtt = performance.now() - t0;
		if (rtt < best) {
			best = rtt;
			offsetMs = row.ms - (wall0 + rtt / 2);
		}
	}
	measuredAt = Date.now();
	return offsetMs;
}

/** The database's "now" in ms, estimated locally (sync first). */
export function dbNowMs(): number {
	return Date.now() + offsetMs;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Sleeps until the database clock reaches `atMs`. Wakes a little late rather than
 * early: timers may fire up to 1 ms early, so the remaining time is re-checked.
 */
export async function sleepUntilDb(atMs: number): Promise<void> {
	for (;;) {
		const left = atMs - dbNowMs();
		if (left <= 0) return;
		await sleep(left > 2 ? left - 1 : 1);
	}
}
