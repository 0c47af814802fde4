import { sql } from '../db/client';
import type { BatchRow } from './repository';
import { isTerminal } from './transitions';
import { quietWaiting } from '../send/quiet';

/** Error classes worth another attempt (control.ts retryFailed sends these again). */
export const RETRYABLE_CLASSES = ['transient', 'rate_limited'];

type Summary = Awaited<ReturnType<typeof summarise>>;

/** How long one count of a ledger answers every batch.get of the same batch state. */
const SHARED_MS = 1000;
/** A running batch's count older than SHARED_MS but younger than this is served while a new one is counted. */
const SERVE_WHILE_COUNTING_MS = 5000;

type Shared<T> = { at: number; value: Promise<T>; counting?: boolean };

/**
 * One count of `key` shared by every caller for SHARED_MS. With `serveWhileCountingMs`,
 * a count older than that but younger than this answers at once while the next one is
 * made in the background (the callers never wait for a recount). A failed count is
 * forgotten, so the next caller counts again.
 */
function shared<T>(cache: Map<string, Shared<T>>, key: string, count: () => Promise<T>, serveWhileCountingMs = 0): Promise<T> {
	const now = Date.now();
	const hit = cache.get(key);
	if (hit && now - hit.at < SHARED_MS) return hit.value;
	if (hit && now - hit.at < serveWhileCountingMs) {
		if (!hit.counting) {
			hit.counting = true;
			count().then(
				(v) => cache.set(key, { at: Date.now(), value: Promise.resolve(v) }),
				() => (hit.counting = false)
			);
		}
		return hit.value;
	}
	if (cache.size > 1000) for (const [k, v] of cache) if (now - v.at >= SERVE_WHILE_COUNTING_MS) cache.delete(k);
	const value = count();
	cache.set(key, { at: now, value });
	value.catch(() => cache.delete(key));
	return value;
}

const recent = new Map<string, Shared<Summary>>();

/**
 * Per-status counts of a batch's ledger (batch_items for SEND/TAG/DELETE,
 * import_rows outcomes for IMPORT), with the most frequent errors.
 *
 * Counting a 100 000-item ledger takes ~100 ms of PostgreSQL; 25 batch.get a second on
 * one batch (many people watching it, scripts polling) took more than the database had
 * and queued every other read behind them (chaos scenario h: reads p95 of 45 s). So
 * calls for the same batch in the same status within a second share one count: a
 * running batch's breakdown is at most a second old (its counters, on the batch row,
 * are always current), and a status change (paused, completed…) is counted afresh.
 */
export function itemSummary(batch: BatchRow): Promise<Summary> {
	// Past the ledger retention: the breakdown stored when the rows went (a copy: callers edit it).
	if (batch.detailsPruned) {
		const { byStatus, topErrors } = batch.detailsPruned;
		// Its items are gone: none can be sent again.
		return Promise.resolve({ byStatus: { ...byStatus }, topErrors: topErrors.map((e) => ({ ...e })), retryable: 0 });
	}
	// An ended batch's key holds its counters: a retry that re-opens a send and completes it
	// within the second is the same status with other counts, and must not get the breakdown
	// from before the retry. A running batch's must not: its counters move with every slice,
	// so each batch.get counted the ledger again (chaos h, 100 000 items, 25 gets a second:
	// reads p95 241 ms, batch.get 420 ms, where one count a second gave 19 ms).
	const key = isTerminal(batch.status)
		? `${batch.id}:${batch.status}:${batch.processedCount}:${batch.failedCount}:${batch.unknownCount}`
		: `${batch.id}:${batch.status}`;
	// Running: the last count answers at once while the next is made. Awaited, the count
	// (~80 ms at 100 000 items) held every get that came during it: 1 in 12 of 25 a
	// second, which made batch.get's p95 the count's time (chaos h: 80 ms of a 50 ms
	// target). The breakdown is then at most one count behind; the counters on the
	// batch row, which the page shows as progress, are always current.
	return shared(recent, key, () => summarise(batch), batch.status === 'PROCESSING' ? SERVE_WHILE_COUNTING_MS : 0);
}

/** The ledger's breakdown, counted now (ledger retention stores it before dropping rows). */
export const ledgerSummary = (batch: Pick<BatchRow, 'id' | 'type'>) => summarise(batch);

async function summarise(batch: Pick<BatchRow, 'id' | 'type'>) {
	if (batch.type === 'IMPORT') {
		const rows = await sql()<{ key: string; n: number }[]>`
			select outcome as key, count(*)::int as n from import_rows where batch_id = ${batch.id} group by outcome`;
		return { byStatus: Object.fromEntries(rows.map((r) => [r.key, r.n])), topErrors: [] as { code: string; n: number; sample: string | null }[], retryable: 0 };
	}
	const byStatus = await sql()<{ key: string; n: number }[]>`
		select status as key, count(*)::int as n from batch_items where batch_id = ${batch.id} group by status`;
	// With one of the provider's messages per code, so the page can say what a code means.
	const topErrors = await sql()<{ code: string; n: number; sample: string | null }[]>`
		select coalesce(error_code, error_class, 'unknown') as code, count(*)::int as n, min(error_message) as sample
		from batch_items where batch_id = ${batch.id} and status in ('failed', 'unknown', 'skipped')
		group by 1 order by 2 desc limit 10`;
	// The failed items "Retry failed" would send again (a retryable error class, as control.ts retryFailed picks):
	// a send whose failures are all permanent (bad numbers) is not offered a retry that would be refused.
	const [{ retryable }] = await sql()<{ retryable: number }[]>`
		select count(*)::int as retryable from batch_items
		where batch_id = ${batch.id} and status = 'failed' and error_class = any(${RETRYABLE_CLASSES}::text[])`;
	return { byStatus: Object.fromEntries(byStatus.map((r) => [r.key, r.n])), topErrors, retryable };
}

export type QuietWaiting = { count: number; next: Date | null; until: Date | null };
const recentQuiet = new Map<string, Shared<QuietWaiting>>();

/**
 * A send with quiet hours: how many recipients are held for their quiet window and until
 * when (the first and the last to be released); null for a batch without quiet hours.
 * Shared for a second between callers, as itemSummary (batch.get polls it while a batch runs).
 */
export function quietWaitingOf(batch: Pick<BatchRow, 'id' | 'type' | 'status' | 'quietStart'>): Promise<QuietWaiting | null> {
	if (batch.type !== 'SEND' || batch.quietStart == null) return Promise.resolve(null);
	// A status change (cancelled, paused…) is counted afresh.
	return shared(recentQuiet, `${batch.id}:${batch.status}`, () => quietWaiting(sql(), batch.id));
}
