import { logger } from '../log';
import type { Receipt } from './types';

const log = logger.child({ module: 'receipts' });

/**
 * Receipts that found no item, tried again a little later. A send's outcome (with the
 * provider's message id) is written when its slice ends, a second or more after the
 * provider accepted it, and a fast `delivered` can arrive in between. Those are kept
 * in this process and applied again after each delay; after the last one they are
 * dropped (an id nobody sent, or one that will never be written). Lost on a restart:
 * a short window, and the provider's answer was already 200.
 */
const DELAYS_MS = [2_000, 10_000, 60_000];
/** At most this many waiting receipts: a flood of ids nobody sent cannot grow memory. */
const MAX_WAITING = 50_000;

let waiting = 0;

export function deferUnmatched(
	channelIds: string[],
	receipts: Receipt[],
	apply: (channelIds: string[], receipts: Receipt[]) => Promise<{ unmatched: string[] }>,
	attempt = 0
): void {
	if (receipts.length === 0) return;
	if (attempt >= DELAYS_MS.length) {
		log.debug({ channelIds, messageIds: receipts.map((r) => r.messageId).slice(0, 20) }, 'receipts for unknown messages dropped');
		return;
	}
	if (waiting + receipts.length > MAX_WAITING) {
		log.warn({ channelIds, dropped: receipts.length }, 'too many receipts waiting for their messages: dropped');
		return;
	}
	waiting += receipts.length;
	const entry = { channelIds, receipts };
	setTimeout(() => {
		waiting -= entry.receipts.length;
		apply(entry.channelIds, entry.receipts)
			.then(({ unmatched }) => {
				const still = new Set(unmatched);
				deferUnmatched(entry.channelIds, entry.receipts.filter((r) => still.has(r.messageId)), apply, attempt + 1);
			})
			.catch((err) => log.warn({ err, channelIds }, 'deferred receipts failed'));
	}, DELAYS_MS[attempt]).unref();
}
