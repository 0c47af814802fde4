import { transaction } from '../db/client';
import { findBatch, transitionBatch, type BatchRow } from '../batches/repository';
import { completeRun } from '../batches/complete-run';
import { isTerminal } from '../batches/transitions';
import { publishBatchUpdate } from '../events/publish';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';
import { env } from '../env';
import type { UndoBatchInput } from './create';
import { deleteRestoreChunkSql, importUndoChunkSql, planImportUndoSql } from './statements';

/** Where a running undo is, in its result: written with each chunk, so a retried job resumes after the last one. */
type Plan = { planned?: boolean; cursor?: number };

/**
 * Freezes the target list once, in one transaction with the total: an import's
 * contacts go to undo_targets (one statement); a delete's archive is already a list
 * keyed by contact id. A retried job finds `planned` and goes on from the cursor.
 */
async function plan(batch: BatchRow, input: UndoBatchInput): Promise<number> {
	const existing = batch.result as Plan;
	if (existing.planned) return Number(existing.cursor ?? 0);
	await transaction(async (tx) => {
		let total: number;
		if (input.undoesType === 'IMPORT') {
			total = (await planImportUndoSql(tx, batch.id, input.undoes)).count;
		} else {
			const [r] = await tx<{ n: number }[]>`select count(*)::int as n from deleted_contacts where batch_id = ${input.undoes}`;
			total = r.n;
		}
		await tx`update batch_operations set total_count = ${total},
			result = result || ${JSON.stringify({ planned: true, cursor: 0 })}::jsonb, updated_at = now()
			where id = ${batch.id}`;
	});
	await publishBatchUpdate(batch.id);
	return 0;
}

/**
 * Runs an UNDO batch to its end, one set-based statement per chunk (statements.ts),
 * like a TAG/DELETE batch: a cancel or pause that committed stops it before the next
 * chunk, and a crash resumes from the last committed cursor.
 */
export async function runUndoBatch(
	batchId: string,
	opts: { chunkSize?: number } = {}
): Promise<'completed' | 'stopped' | 'paused' | 'skipped'> {
	const chunkSize = opts.chunkSize ?? env().bulk.chunkSize;
	const found = await findBatch(batchId);
	if (!found || isTerminal(found.status)) return 'skipped';
	if (found.status === 'PAUSED') return 'paused';
	if (found.type !== 'UNDO') throw new Error(`Batch ${batchId} is ${found.type}`);
	const batch = found.status === 'PENDING' ? await transitionBatch(batchId, 'PROCESSING', { from: ['PENDING'] }) : found;
	if (!batch) return 'skipped'; // cancelled meanwhile
	const input = batch.input as UndoBatchInput;
	let cursor = await plan(batch, input);
	for (;;) {
		const [r] = await transaction((tx) =>
			input.undoesType === 'IMPORT'
				? importUndoChunkSql(tx, batchId, cursor, chunkSize)
				: deleteRestoreChunkSql(tx, batchId, input.undoes, cursor, chunkSize)
		);
		if (r.status === 'PAUSED') return 'paused';
		if (r.status !== 'PROCESSING') return 'stopped';
		if (r.matched === 0) break;
		cursor = Number(r.last);
	}
	return completeRun(batchId);
}

/** A paused undo looks again a little later (run_at, not a sleeping worker), as bulk/run.ts does. */
export async function recheckPausedUndoLater(batchId: string) {
	await enqueue(TASK.undoRun, { batchId }, { runAt: new Date(Date.now() + 2_000), jobKey: `undo:${batchId}`, maxAttempts: 5 });
}

/** The job gave up for good (worker/task.ts). */
export async function failUndoBatch(batchId: string, error: string) {
	await transitionBatch(batchId, 'FAILED', { error: error.slice(0, 1000) });
}
