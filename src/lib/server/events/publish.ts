import { sql as dsql } from 'drizzle-orm';
import { db } from '../db/client';
import type { Executor } from '../jobs/enqueue';

export const BATCH_CHANNEL = 'batch_update';

/**
 * Tells every web process that a batch changed. The payload is only the id: listeners
 * read the row, so a notification is never stale and never over the 8000-byte limit.
 * Inside a transaction, pg_notify is delivered at commit (and dropped on rollback).
 *
 * Progress updates are coalesced per batch in this process (at most one per
 * COALESCE_MS); a status change is always sent at once.
 */
const COALESCE_MS = 200;
const lastSent = new Map<string, number>();
const pending = new Map<string, ReturnType<typeof setTimeout>>();

export async function publishBatchUpdate(
	batchId: string,
	opts: { statusChange?: boolean; tx?: Executor } = {}
): Promise<void> {
	const now = Date.now();
	if (opts.statusChange || now - (lastSent.get(batchId) ?? 0) >= COALESCE_MS) {
		lastSent.set(batchId, now);
		const t = pending.get(batchId);
		if (t) {
			clearTimeout(t);
			pending.delete(batchId);
		}
		await (opts.tx ?? db()).execute(dsql`select pg_notify(${BATCH_CHANNEL}, ${batchId})`);
		return;
	}
	// Too soon: make sure a trailing event carries the latest counts.
	if (!pending.has(batchId)) {
		pending.set(
			batchId,
			setTimeout(() => {
				pending.delete(batchId);
				lastSent.set(batchId, Date.now());
				db()
					.execute(dsql`select pg_notify(${BATCH_CHANNEL}, ${batchId})`)
					.catch(() => {});
			}, COALESCE_MS - (now - (lastSent.get(batchId) ?? 0)))
		);
	}
}
