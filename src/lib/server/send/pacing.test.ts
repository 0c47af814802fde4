import { describe, expect, it } from 'vitest';
import { baseIntervalMs, expectedGapMs, nextGapMs, retryDelayMs, estimateDurationMs, Lateness } from './pacing';

describe('pacing maths', () => {
	it('spaces sends by 60000 / ratePerMinute plus a jitter draw in [0, jitterMs]', () => {
		expect(baseIntervalMs(6000)).toBe(10);
		expect(baseIntervalMs(undefined)).toBe(0);
		expect(nextGapMs(6000, 20, () => 0)).toBe(10);
		expect(nextGapMs(6000, 20, () => 0.999999)).toBeCloseTo(30, 3);
		expect(expectedGapMs(6000, 20)).toBe(20);
	});
	it('estimates durations from the pace or the channel cap', () => {
		expect(estimateDurationMs(101, { ratePerMinute: 60 })).toBe(100_000);
		expect(estimateDurationMs(1001, { channelRatePerSecond: 100 })).toBe(10_000);
	});
	it('backs off exponentially, honouring Retry-After first', () => {
		expect(retryDelayMs(3, 7000)).toBe(7000);
		expect(retryDelayMs(1, null, () => 0.5)).toBe(1000);
		expect(retryDelayMs(3, null, () => 0.5)).toBe(4000);
		expect(retryDelayMs(30, null, () => 0.5)).toBe(60_000);
	});
	it('draws less jitter by the typical lateness, so late sends keep the mean without any gap under the interval', () => {
		// A deterministic uniform draw and sends that land 0.5-2.5 ms late (one in ten by 15 ms).
		let seed = 7;
		const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
		const paced = { baseMs: 10, jitterMs: 20 };
		const run = (l: Lateness | null) => {
			const gaps: number[] = [];
			for (let i = 0; i < 20_000; i++) {
				const late = i % 10 === 0 ? 15 : 0.5 + 2 * rand();
				const gap = l ? l.gapMs(paced, rand) : paced.baseMs + rand() * paced.jitterMs;
				gaps.push(gap + late);
				l?.observe(late, paced.jitterMs);
			}
			return { mean: gaps.reduce((a, b) => a + b, 0) / gaps.length, min: Math.min(...gaps) };
		};
		const before = run(null);
		expect(before.mean).toBeGreaterThan(20 * 1.02);
		const after = run(new Lateness());
		expect(Math.abs(after.mean - expectedGapMs(6000, 20)) / 20).toBeLessThan(0.02);
		expect(after.min).toBeGreaterThanOrEqual(paced.baseMs);
		// No jitter, nothing to draw less of: the interval itself.
		expect(new Lateness().gapMs({ baseMs: 10, jitterMs: 0 })).toBe(10);
	});
});
