import { browser } from '$app/environment';
import { onSocketState, trpc } from '$lib/trpc/client';
import type { BatchStatusDto } from '$lib/trpc/types';
import { errorMessage } from '$lib/errors';

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

	// Server-side rendering: no socket, no timers; the browser starts the real thing.
	if (!browser) return inert({ current: null, refresh: async () => {} });

	const apply = (s: BatchStatusDto) => {
		// Ignore a poll answer that is older than what the socket already delivered.
		if (current && current.status === s.status && s.processedCount < current.processedCount) return;
		current = s;
	};
	const sub = trpc().batch.onUpdate.subscribe(
		{ batchId },
		{
			onData: (ev) => {
				error = null;
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
		/** Re-reads batch.status now (e.g. right after an action). */
		refresh: poll,
		stop() {
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
