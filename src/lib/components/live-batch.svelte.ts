import { browser } from '$app/environment';
import { onSocketState, trpc } from '$lib/trpc/client';
import type { BatchStatusDto } from '$lib/trpc/types';
import { errorMessage } from '$lib/errors';
import { endedAtMs, isStaleAfterEnd, isTerminalStatus } from '$lib/batch-kinds';
import { RateMeter, averagePerSecond, doneOf } from './rate-meter';

const GRACE_MS = 1500;

/** What the stores return during server-side rendering: nothing live, nothing to stop. */
function inert<T extends object>(extra: T) {
	return { ...extra, live: false, polling: false, error: null as string | null, stop() {} };
} // the lazy socket needs a moment to open: don't flash "polling"

type Options = { pollMs?: number };

/**
 * Watches socket state and runs `poll` every pollMs while the socket is down (after a
 * short grace period). Returns a stopper. `polling` reports whether it is polling now.
 */
function fallback(poll: () => Promise<void>, pollMs: number, set: (live: boolean, polling: boolean) => void) {
	let timer: ReturnType<typeof setInterval> | undefined;
	let grace: ReturnType<typeof setTimeout> | undefined;
	const stopPolling = () => {
		clearInterval(timer);
		clearTimeout(grace);
		timer = grace = undefined;
	};
	const off = onSocketState((open) => {
		if (open) {
			stopPolling();
			set(true, false);
			return;
		}
		set(false, false);
		if (timer || grace) return;
		grace = setTimeout(() => {
			grace = undefined;
			set(false, true);
			void poll();
			timer = setInterval(() => void poll(), pollMs);
		}, GRACE_MS);
	});
	return () => {
		stopPolling();
		off();
	};
}

/**
 * One batch, live: subscribes to batch.onUpdate({ batchId }) over ws and falls back to
 * polling batch.status while the socket is down. Reactive fields (Svelte 5 runes):
 *   const lb = liveBatch(id); onDestroy(lb.stop);
 *   {lb.current?.progress} {#if lb.polling}Live updates down — polling{/if}
 */
export function liveBatch(batchId: string, opts: Options = {}) {
	let current = $state<BatchStatusDto | null>(null);
	let live = $state(false);
	let polling = $state(false);
	let error = $state<string | null>(null);
	let perSecond = $state<number | null>(null);
	let etaMs = $state<number | null>(null);

	// Server-side rendering: no socket, no timers; the browser starts the real thing.
	if (!browser) return inert({ current: null, perSecond: null, etaMs: null, refresh: async () => {} });

	// Rate and ETA (rate-meter.ts): fed by every count seen, re-read each second so the
	// ETA counts down and a stall shows. `skew`: this clock minus the server's, from the
	// live events' server stamps (the smallest gap seen is the closest to the truth).
	const meter = new RateMeter();
	let skew: number | null = null;
	let anchored = false;
	const measure = () => {
		const s = current;
		if (!s) return;
		if (isTerminalStatus(s.status)) {
			perSecond = averagePerSecond(doneOf(s), s.startedAt, s.completedAt);
			etaMs = null;
			return;
		}
		perSecond = s.status === 'PROCESSING' ? meter.perSecond() : null;
		etaMs = s.status === 'PROCESSING' ? meter.etaMs(Math.max(0, s.totalCount - s.processedCount)) : null;
	};
	const apply = (s: BatchStatusDto) => {
		if (isStaleAfterEnd(endedAtMs(current), s)) return;
		if (current && current.status === s.status && s.processedCount < current.processedCount) return;
		current = s;
		if (s.status === 'PROCESSING') {
			if (!anchored && s.startedAt) {
				anchored = true;
				meter.start(new Date(s.startedAt).getTime() + (skew ?? 0));
			}
			meter.add(doneOf(s));
		}
		measure();
	};
	const tick = setInterval(measure, 1000);
	const sub = trpc().batch.onUpdate.subscribe(
		{ batchId },
		{
			onData: (ev) => {
				error = null;
				const gap = Date.now() - Number(ev.data.timestamp);
				if (Number.isFinite(gap)) skew = skew === null ? gap : Math.min(skew, gap);
				apply(ev.data.data as BatchStatusDto);
			},
			onError: (e) => (error = errorMessage(e))
		}
	);
	const poll = async () => {
		try {
			apply(await trpc().batch.status.query({ batchId }));
			error = null;
		} catch (e) {
			error = errorMessage(e);
		}
	};
	const stopFallback = fallback(poll, opts.pollMs ?? 2000, (l, p) => {
		live = l;
		polling = p;
	});
	return {
		get current() {
			return current;
		},
		get live() {
			return live;
		},
		get polling() {
			return polling;
		},
		get error() {
			return error;
		},
		/** Units (a send's attempts, other batches' rows) per second: live while it runs, the average once ended. */
		get perSecond() {
			return perSecond;
		},
		/** Time left at the live rate (null: not running, or not measurable yet). */
		get etaMs() {
			return etaMs;
		},
		/** Re-reads batch.status now (e.g. right after an action). */
		refresh: poll,
		stop() {
			clearInterval(tick);
			sub.unsubscribe();
			stopFallback();
		}
	};
}

/**
 * Every batch, live: calls onUpdate for each batch_update event (active batches first,
 * as a snapshot), and calls onPoll every pollMs while the socket is down (e.g. reload
 * a list). Reactive: live, polling.
 */
export function liveBatches(handlers: { onUpdate: (s: BatchStatusDto) => void; onPoll: () => Promise<void> | void }, opts: Options = {}) {
	let live = $state(false);
	let polling = $state(false);
	if (!browser) return inert({});
	const sub = trpc().batch.onUpdate.subscribe(
		{},
		{ onData: (ev) => handlers.onUpdate(ev.data.data as BatchStatusDto), onError: () => {} }
	);
	const stopFallback = fallback(async () => void (await handlers.onPoll()), opts.pollMs ?? 5000, (l, p) => {
		live = l;
		polling = p;
	});
	return {
		get live() {
			return live;
		},
		get polling() {
			return polling;
		},
		stop() {
			sub.unsubscribe();
			stopFallback();
		}
	};
}
