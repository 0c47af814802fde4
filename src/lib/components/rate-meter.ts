/**
 * A batch's live rate and ETA, from the counts the page sees arrive. The rate is taken
 * over a sliding window as long as the batch is old, up to a minute: a 14-second paced
 * send is measured over its 14 seconds (not "sent in the last minute ÷ 60", which showed
 * 0.02/s and "ETA 19 min"), a 2-second send over its 2 seconds (not 808/s for 24 000/s).
 * Times are this browser's clock; the batch's start (a server time) is moved onto it by
 * the skew seen between server stamps and arrival. Browser-safe, no runes, a clock
 * injected for the tests.
 */
import type { BatchStatusDto } from '$lib/trpc/types';

export type RateMeterOptions = { maxWindowMs?: number; minWindowMs?: number };
type Point = { at: number; done: number };

/** What a batch has done so far, for its rate: a send's attempts (skips are decided up front), other batches' rows. */
export function doneOf(s: Pick<BatchStatusDto, 'type' | 'processedCount' | 'successCount' | 'failedCount' | 'unknownCount'>): number {
	return s.type === 'SEND' ? s.successCount + s.failedCount + s.unknownCount : s.processedCount;
}

export class RateMeter {
	private points: Point[] = [];
	private readonly maxWindowMs: number;
	private readonly minWindowMs: number;

	constructor(
		private readonly clock: () => number = Date.now,
		opts: RateMeterOptions = {}
	) {
		this.maxWindowMs = opts.maxWindowMs ?? 60_000;
		this.minWindowMs = opts.minWindowMs ?? 1_000;
	}

	/**
	 * The batch started at `at` (this clock) with nothing done: an anchor, kept only when
	 * it is within a window of now (a send re-opened by retry-failed started long ago
	 * with its first run's counts, so its start says nothing about the current pace).
	 */
	start(at: number) {
		if (this.clock() - at > this.maxWindowMs || this.points.some((p) => p.at <= at)) return;
		this.points.unshift({ at, done: 0 });
	}

	/** A count seen now (or at `at`). An older answer than the last one (a late poll) is ignored. */
	add(done: number, at = this.clock()) {
		const last = this.points.at(-1);
		if (last && (done < last.done || at < last.at)) return;
		if (last && last.done === done && this.points.length > 1 && this.points.at(-2)!.done === done) {
			last.at = at; // a flat stretch needs its two ends only
		} else {
			this.points.push({ at, done });
		}
		// Keep one point before the longest window, for interpolation.
		const from = at - this.maxWindowMs;
		while (this.points.length > 2 && this.points[1].at <= from) this.points.shift();
	}

	/**
	 * Units per second over the window, or null while there is not a window's worth to
	 * measure. Measured up to the last count seen; once nothing has arrived for twice the
	 * gap that rate implies (a stall, not a slow pace between two sends), up to now.
	 */
	perSecond(): number | null {
		if (this.points.length < 2) return null;
		const now = this.clock();
		const last = this.points.at(-1)!;
		const atLast = this.rateEndingAt(last.at);
		if (atLast && now - last.at <= 2000 / atLast) return atLast;
		return this.rateEndingAt(now);
	}

	private rateEndingAt(end: number): number | null {
		const first = this.points[0];
		const age = end - first.at;
		if (age < this.minWindowMs) return null;
		const window = Math.min(this.maxWindowMs, age);
		return Math.max(0, (this.doneAt(end) - this.doneAt(end - window)) / (window / 1000));
	}

	/** Time left for `remaining` at the current rate; null when unknown (no rate yet, or nothing moving). */
	etaMs(remaining: number): number | null {
		if (remaining <= 0) return 0;
		const r = this.perSecond();
		if (!r) return null;
		return (remaining / r) * 1000;
	}

	/** The count at time t, linear between the points around it. */
	private doneAt(t: number): number {
		const pts = this.points;
		if (t <= pts[0].at) return pts[0].done;
		for (let i = 1; i < pts.length; i++) {
			const b = pts[i];
			if (t <= b.at) {
				const a = pts[i - 1];
				return a.done + ((b.done - a.done) * (t - a.at)) / (b.at - a.at || 1);
			}
		}
		return pts.at(-1)!.done;
	}
}

/** The average of an ended batch, on the server's clock. */
export function averagePerSecond(done: number, startedAt: Date | string | null, completedAt: Date | string | null): number | null {
	if (!startedAt || !completedAt) return null;
	const ms = new Date(completedAt).getTime() - new Date(startedAt).getTime();
	return ms > 0 ? done / (ms / 1000) : null;
}

/** "24,310/s", "3.2/s", "30/min", "4/h". */
export function formatRate(perSecond: number | null, locale?: string): string {
	if (perSecond === null || !Number.isFinite(perSecond)) return '—';
	const n = (v: number, digits: number) => v.toLocaleString(locale, { maximumFractionDigits: digits });
	if (perSecond >= 10) return `${n(perSecond, 0)}/s`;
	if (perSecond >= 1) return `${n(perSecond, 1)}/s`;
	if (perSecond * 60 >= 1) return `${n(perSecond * 60, perSecond * 60 >= 10 ? 0 : 1)}/min`;
	if (perSecond === 0) return '0/s';
	return `${n(perSecond * 3600, 1)}/h`;
}
