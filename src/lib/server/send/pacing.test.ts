import { describe, expect, it } from 'vitest';
import { baseIntervalMs, expectedGapMs, nextGapMs, retryDelayMs, estimateDurationMs } from './pacing';

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
});
