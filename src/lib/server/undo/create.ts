import { transaction, type Executor } from '../db/client';
import { DomainError } from '../errors';
import { getBatchOrThrow, insertBatch, resolveBatchId, toBatchDto, type BatchRow } from '../batches/repository';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';
import { publishBatchUpdate } from '../events/publish';
import { audit, type AuditCtx } from '../audit/record';

/** Why a batch cannot be undone as a whole (the tRPC error's data.reason). */
export type UndoRefusal = 'wrong_type' | 'not_finished' | 'already_undone' | 'archive_purged' | 'no_undo_data';

const refuse = (code: 'PRECONDITION_FAILED' | 'CONFLICT', reason: UndoRefusal, message: string) =>
	new DomainError(code, message, 'batchId', reason);

/** What an UNDO batch keeps as its input: the batch it undoes and that batch's type. */
export type UndoBatchInput = { undoes: string; undoesType: 'IMPORT' | 'DELETE' };

/**
 * Whole-batch checks, on the row locked by the caller: only a finished IMPORT or
 * DELETE (COMPLETED, or CANCELLED/FAILED part-way: the chunks that committed are
 * undone), once, while its archive is kept. An UNDO is not undone in turn: it removes
 * contacts without archiving them (they were created by the import and unchanged since),
 * so there would be nothing to bring back; import the file again instead.
 */
async function checkUndoable(tx: Executor, b: BatchRow): Promise<'IMPORT' | 'DELETE'> {
	const short = b.id.slice(0, 8);
	if (b.type !== 'IMPORT' && b.type !== 'DELETE') {
		throw refuse('PRECONDITION_FAILED', 'wrong_type', `Batch ${short} is a ${b.type} batch: only IMPORT and DELETE batches can be undone.`);
	}
	if (b.status === 'PENDING' || b.status === 'PROCESSING' || b.status === 'PAUSED') {
		throw refuse('PRECONDITION_FAILED', 'not_finished', `Batch ${short} is ${b.status}: wait for it to finish (or cancel it) before undoing it.`);
	}
	if (b.undoneBy) {
		throw refuse('CONFLICT', 'already_undone', `Batch ${short} is already undone by ${b.undoneBy.slice(0, 8)}.`);
	}
	if (b.archivePurgedAt) {
		throw refuse('PRECONDITION_FAILED', 'archive_purged', `Batch ${short} can no longer be undone: its archive was purged (ARCHIVE_RETENTION_DAYS).`);
	}
	if (b.type === 'IMPORT') {
		// Chunks written before undo existed recorded no created ids.
		const [old] = await tx<{ n: number }[]>`
			select count(*)::int as n from import_chunks where batch_id = ${b.id} and created_ids is null`;
		if (old.n > 0) {
			throw refuse('PRECONDITION_FAILED', 'no_undo_data', `Batch ${short} was imported before undo existed: it kept nothing to undo with.`);
		}
	}
	return b.type;
}

/**
 * Creates the UNDO batch of an IMPORT or DELETE and its job in ONE transaction, with
 * the original batch's row locked and marked undone_by: two undos of the same batch
 * cannot both pass the check. Refusals of the whole batch are typed errors (reason in
 * the error's data); refusals of single contacts come later, per row, in the UNDO
 * batch's ledger.
 */
export async function createUndoBatch(ref: string, userId: number | null, by?: AuditCtx) {
	const targetId = await resolveBatchId(ref);
	const row = await transaction(async (tx) => {
		await tx`select 1 from batch_operations where id = ${targetId} for update`;
		const target = await getBatchOrThrow(targetId, tx);
		const undoesType = await checkUndoable(tx, target);
		const input: UndoBatchInput = { undoes: target.id, undoesType };
		const batch = await insertBatch(tx, { type: 'UNDO', input, totalCount: 0, createdBy: userId });
		await tx`update batch_operations set undone_by = ${batch.id}, updated_at = now() where id = ${target.id}`;
		await enqueue(TASK.undoRun, { batchId: batch.id }, { maxAttempts: 5 }, tx);
		await audit(tx, by, 'batch.undo', { type: 'batch', id: batch.id }, { undoes: target.id, originalType: undoesType });
		await publishBatchUpdate(batch.id, { statusChange: true, tx });
		return batch;
	});
	return toBatchDto(row);
}
