import { sql, transaction } from '../db/client';
import { findBatch, transitionBatch, type BatchRow } from '../batches/repository';
import { completeRun } from '../batches/complete-run';
import { isTerminal } from '../batches/transitions';
import { contactWhere } from '../contacts/filter';
import { publishBatchUpdate } from '../events/publish';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';
import { unpackIds, type BulkBatchInput } from './create';
import { deleteChunkSql, filterTarget, idsTarget, tagChunkSql } from './statements';
import { env } from '../env';

/** ~10k ids per statement: measured fastest here (vs. one statement for 1M rows). */
const defaultChunkSize = () => env().bulk.chunkSize;

/** Where a running batch is: kept in batch.result, written in the same transaction as
 * each chunk, so a retried job resumes exactly after the last committed chunk. */
type Plan = { cursor: number; maxId: number };

/** The ids after `cursor` in a sorted list, at most `n` of them. */
function nextIds(sorted: Float64Array, cursor: number, n: number): number[] {
	let lo = 0;
	let hi = sorted.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (sorted[mid] <= cursor) lo = mid + 1;
		else hi = mid;
	}
	return Array.from(sorted.subarray(lo, lo + n));
}

/** The frozen id list of a batch created with explicit ids (null for a filter batch). */
async function targetIds(batchId: string): Promise<Float64Array | null> {
	const [row] = await sql()<{ ids: Buffer }[]>`select ids from batch_targets where batch_id = ${batchId}`;
	return row ? unpackIds(row.ids) : null;
}

/**
 * Freezes the target set when the batch starts: a filter covers the contacts that
 * match it with an id up to today's highest (contacts created later are not touched);
 * explicit ids were frozen at creation.
 */
async function plan(batch: BatchRow, input: BulkBatchInput, ids: Float64Array | null): Promise<Plan> {
	const existing = batch.result as Partial<Plan>;
	if (typeof existing.cursor === 'number' && typeof existing.maxId === 'number') {
		return { cursor: existing.cursor, maxId: existing.maxId };
	}
	let total = ids?.length ?? 0;
	let maxId = ids?.at(-1) ?? 0;
	if (input.filter) {
		const [row] = await sql()<{ n: number; max: string | null }[]>`
			select count(*)::int as n, max(c.id) as max from contacts c where ${contactWhere(input.filter)}`;
		total = row.n;
		maxId = Number(row.max ?? 0);
	}
	const p: Plan = { cursor: 0, maxId };
	await sql()`update batch_operations set total_count = ${total},
		result = result || ${JSON.stringify(p)}::jsonb, updated_at = now() where id = ${batch.id}`;
	await publishBatchUpdate(batch.id);
	return p;
}

/**
 * Runs a TAG or DELETE batch to its end, one set-based statement per chunk
 * (statements.ts: status check under a row lock, the change, counters, cursor and
 * publish, all in that one statement). A cancel (or pause) that committed stops the
 * batch before the next chunk. Safe to re-run after a crash: it resumes from the
 * last committed cursor.
 */
export async function runBulkBatch(
	batchId: string,
	opts: { chunkSize?: number } = {}
): Promise<'completed' | 'stopped' | 'paused' | 'skipped'> {
	const chunkSize = opts.chunkSize ?? defaultChunkSize();
	const found = await findBatch(batchId);
	if (!found || isTerminal(found.status)) return 'skipped';
	if (found.status === 'PAUSED') return 'paused';
	if (found.type !== 'TAG' && found.type !== 'DELETE') throw new Error(`Batch ${batchId} is ${found.type}`);
	const batch = found.status === 'PENDING' ? await transitionBatch(batchId, 'PROCESSING', { from: ['PENDING'] }) : found;
	if (!batch) return 'skipped'; // cancelled meanwhile
	const input = batch.input as BulkBatchInput;
	// Batches from before batch_targets kept their whole list in the input.
	const ids = input.filter ? null : ((await targetIds(batchId)) ?? (input.contactIds ? Float64Array.from(input.contactIds) : null));
	if (!input.filter && !ids) throw new Error(`Batch ${batchId} has neither a filter nor its id list`);
	const where = input.filter ? contactWhere(input.filter) : null;
	let { cursor, maxId } = await plan(batch, input, ids);

	for (;;) {
		let target;
		if (ids) {
			const chunk = nextIds(ids, cursor, chunkSize);
			if (chunk.length === 0) break;
			target = idsTarget(chunk);
		} else {
			target = filterTarget(where!, cursor, maxId, chunkSize);
		}
		const chunk = target;
		const [r] = await transaction(async (tx) => {
			if (batch.type === 'DELETE') return deleteChunkSql(tx, batchId, chunk);
			// The chunk statement is prepared, and Postgres may switch a prepared statement to
			// a generic plan after five runs: for a tag filter page that plan is far slower
			// (tag set by filter, 1M contacts: 2.5-3x the raw SQL, measured twice; 1.2-1.4x
			// with this). Not for DELETE: planning each chunk anew made delete by filter 3x
			// the raw SQL (measured once), likely the planner probing the id index's ends
			// through the dead entries of the chunks deleted before.
			await tx`set local plan_cache_mode = force_custom_plan`;
			return tagChunkSql(tx, batchId, chunk, input.operation!, input.tags!);
		});
		if (r.status === 'PAUSED') return 'paused';
		if (r.status !== 'PROCESSING') return 'stopped';
		if (r.matched === 0) break;
		cursor = Number(r.last);
	}
	// A filter's count was taken at the start; the end shows what was really processed.
	return completeRun(batchId, { totalFromProcessed: !!where });
}

/**
 * A paused TAG/DELETE batch keeps a job that looks again a little later (in run_at, not
 * in a sleeping worker): resume only flips the status, and the next look continues
 * from the cursor; a cancel ends it. job_key keeps it to one waiting job per batch.
 */
export async function recheckPausedLater(batchId: string) {
	await enqueue(TASK.bulkRun, { batchId }, { runAt: new Date(Date.now() + PAUSED_RECHECK_MS), jobKey: `bulk:${batchId}`, maxAttempts: 5 });
}
const PAUSED_RECHECK_MS = 2_000;

/** The job gave up for good (worker/task.ts): the batch could not run. */
export async function failBulkBatch(batchId: string, error: string) {
	await transitionBatch(batchId, 'FAILED', { error: error.slice(0, 1000) });
}
