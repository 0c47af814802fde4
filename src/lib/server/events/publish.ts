import { sql, type Executor } from '../db/client';

export const BATCH_CHANNEL = 'batch_update';

/**
 * Tells every web process that a batch changed. The payload is the batch's status row
 * as this statement sees it (JSON, well under the 8000-byte limit: the error is cut at
 * 2000 characters). Inside a transaction that is exactly the state being committed, and
 * pg_notify is delivered at commit (dropped on rollback), in commit order, so a listener
 * can fan it out without reading the row again (events/bus.ts).
 *
 * Progress updates are coalesced per batch in this process (at most one per
 * COALESCE_MS); a status change is always sent at once.
 */
const COALESCE_MS = 200;

/**
 * The notification payload, as text, built from a batch_operations row whose columns
 * are reachable unqualified. Statements that change a batch and notify in one go
 * (bulk chunks) embed it, so every batch_update carries the same fields.
 */
export function statusPayloadSql(ex: Executor) {
	return ex`json_build_object(
		'id', id,
		'type', type,
		'status', status,
		'totalCount', total_count,
		'processedCount', processed_count,
		'successCount', success_count,
		'failedCount', failed_count,
		'skippedCount', skipped_count,
		'unknownCount', unknown_count,
		'deliveredCount', delivered_count,
		'readCount', read_count,
		'undeliveredCount', undelivered_count,
		'createdAt', created_at,
		'scheduledAt', scheduled_at,
		'startedAt', started_at,
		'completedAt', completed_at,
		'updatedAt', updated_at,
		'error', left(error, 2000)
	)::text`;
}

/** Notifies the batch's row as this statement sees it (delivered at commit, if any). */
async function notify(ex: Executor, batchId: string) {
	await ex`
		select pg_notify(${BATCH_CHANNEL}, ${statusPayloadSql(ex)})
		from batch_operations
		where id = ${batchId}`;
}
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
		await notify(opts.tx ?? sql(), batchId);
		return;
	}
	// Too soon: make sure a trailing event carries the latest counts.
	if (!pending.has(batchId)) {
		pending.set(
			batchId,
			setTimeout(() => {
				pending.delete(batchId);
				lastSent.set(batchId, Date.now());
				notify(sql(), batchId).catch(() => {});
			}, COALESCE_MS - (now - (lastSent.get(batchId) ?? 0)))
		);
	}
}
