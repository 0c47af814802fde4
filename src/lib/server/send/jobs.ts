import { sql, type Executor } from '../db/client';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';

export type SliceBatch = { id: string; ratePerMinute: number | null };

/** One job key per lane: a parked job is found and moved by key (scheduler, resume). */
export function sliceJobKey(batchId: string, lane: number) {
	return `send:${batchId}:${lane}`;
}

/** Parses a slice job key back into its batch and lane (the scheduler reads keys). */
export function parseSliceJobKey(key: string): { batchId: string; lane: number } | null {
	const m = /^send:([0-9a-f-]{36}):(\d+)$/.exec(key);
	return m ? { batchId: m[1], lane: Number(m[2]) } : null;
}

/**
 * Paced batches run in a named queue of their own: graphile-worker runs one job of a
 * queue at a time, so two slices of one batch never send side by side (and pacing
 * holds even when the scheduler wakes a job that graphile also picked up).
 */
export function sliceQueue(batch: SliceBatch): string | undefined {
	return batch.ratePerMinute ? `send:${batch.id}` : undefined;
}

/** Enqueues (or moves, by job key) the slice job of one lane. */
export async function enqueueSlice(
	batch: SliceBatch,
	opts: { lane?: number; runAt?: Date; spawn?: boolean } = {},
	tx: Executor = sql()
) {
	const lane = opts.lane ?? 0;
	await enqueue(
		TASK.sendSlice,
		{ batchId: batch.id, lane, spawn: opts.spawn ?? false },
		{ jobKey: sliceJobKey(batch.id, lane), queueName: sliceQueue(batch), runAt: opts.runAt, maxAttempts: 25 },
		tx
	);
}
