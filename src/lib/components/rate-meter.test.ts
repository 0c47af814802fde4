import { describe, expect, it } from 'vitest';
import { RateMeter, averagePerSecond, doneOf, formatRate } from './rate-meter';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
	let t = start;
	return { now: () => t, tick: (ms: number) => (t += ms) };
}

describe('RateMeter', () => {
	it('measures a 14-second paced send over its 14 seconds, not over a minute', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now());
		for (let i = 1; i <= 14; i++) {
			c.tick(1000);
			m.add(i);
		}
		// 1 per second, 6 of 20 left: not "0.02/s, ETA 19 min".
		expect(m.perSecond()).toBeCloseTo(1, 5);
		expect(m.etaMs(6)).toBeCloseTo(6000, 0);
	});

	it('measures a 2-second send of 48,500 at its real pace', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now());
		for (let i = 1; i <= 10; i++) {
			c.tick(200);
			m.add(4850 * i);
		}
		expect(m.perSecond()).toBeCloseTo(24_250, 0);
	});

	it('follows a change of pace within a minute on a long batch', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now());
		let done = 0;
		for (let s = 1; s <= 600; s++) {
			c.tick(1000);
			done += s <= 480 ? 100 : 10;
			m.add(done);
		}
		expect(m.perSecond()).toBeCloseTo(10, 5);
		expect(m.etaMs(100)).toBeCloseTo(10_000, 0);
	});

	it('says nothing before a second of the batch, and ignores a late answer', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now());
		c.tick(300);
		m.add(50);
		expect(m.perSecond()).toBeNull();
		expect(m.etaMs(10)).toBeNull();
		c.tick(1700);
		m.add(200);
		m.add(120); // a poll answer older than the last live event
		expect(m.perSecond()).toBeCloseTo(100, 5);
	});

	it('keeps a paced send of one a minute at one a minute between its sends', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now());
		for (let i = 1; i <= 5; i++) {
			c.tick(60_000);
			m.add(i);
		}
		c.tick(30_000);
		// Between two sends the window still spans one send a minute.
		expect(m.perSecond()! * 60).toBeCloseTo(1, 5);
		// A stall: after ten minutes without a send the rate falls.
		c.tick(600_000);
		expect(m.perSecond()).toBe(0);
		expect(formatRate(1 / 60, 'en')).toBe('1/min');
	});

	it('does not anchor a re-opened batch at its first start', () => {
		const c = manualClock();
		const m = new RateMeter(c.now);
		m.start(c.now() - 10 * 60_000); // started ten minutes ago, retried now
		m.add(1000);
		c.tick(2000);
		m.add(1010);
		expect(m.perSecond()).toBeCloseTo(5, 5);
	});
});

describe('rate helpers', () => {
	it('counts a send by its attempts and other batches by rows', () => {
		const base = { processedCount: 10, successCount: 5, failedCount: 2, unknownCount: 1 };
		expect(doneOf({ type: 'SEND', ...base })).toBe(8);
		expect(doneOf({ type: 'IMPORT', ...base })).toBe(10);
	});
	it('averages an ended batch on the server clock, and formats rates', () => {
		expect(averagePerSecond(3000, '2026-01-01T00:00:00Z', '2026-01-01T00:00:02Z')).toBe(1500);
		expect(averagePerSecond(3, '2026-01-01T00:00:00Z', null)).toBeNull();
		expect(formatRate(24310, 'en')).toBe('24,310/s');
		expect(formatRate(3.21, 'en')).toBe('3.2/s');
		expect(formatRate(0.5, 'en')).toBe('30/min');
		expect(formatRate(null)).toBe('—');
	});
});
