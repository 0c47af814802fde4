import { sql as dsql, eq } from 'drizzle-orm';
import { db } from '../db/client';
import { batchOperations, type BatchStatus } from '../db/schema';
import type { Executor } from '../jobs/enqueue';
import { DomainError, notFound } from '../errors';
import { canTransition, isTerminal, sourcesOf } from './transitions';
import { publishBatchUpdate } from '../events/publish';

export type BatchRow = typeof batchOperations.$inferSelect;

export function progressOf(b: Pick<BatchRow, 'status' | 'processedCount' | 'totalCount'>): number {
	if (b.status === 'COMPLETED') return 100;
	if (b.totalCount <= 0) return 0;
	return Math.min(100, Math.floor((b.processedCount / b.totalCount) * 1000) / 10);
}

/** The seed's status shape (batch.status, and the data of a batch_update event). */
export function toStatusDto(b: BatchRow) {
	return {
		id: b.id,
		type: b.type,
		status: b.status,
		totalCount: b.totalCount,
		processedCount: b.processedCount,
		successCount: b.successCount,
		failedCount: b.failedCount,
		skippedCount: b.skippedCount,
		progress: progressOf(b),
		createdAt: b.createdAt,
		scheduledAt: b.scheduledAt,
		startedAt: b.startedAt,
		completedAt: b.completedAt,
		error: b.error
	};
}
export type BatchStatusDto = ReturnType<typeof toStatusDto>;

/** The whole operation (batch.get / batch.list rows). */
export function toBatchDto(b: BatchRow) {
	return {
		...toStatusDto(b),
		input: b.input,
		result: b.result,
		createdBy: b.createdBy,
		channelId: b.channelId,
		ratePerMinute: b.ratePerMinute,
		jitterMs: b.jitterMs,
		updatedAt: b.updatedAt
	};
}
export type BatchDto = ReturnType<typeof toBatchDto>;

export async function findBatch(id: string, tx: Executor = db()): Promise<BatchRow | undefined> {
	const [row] = await tx.select().from(batchOperations).where(eq(batchOperations.id, id));
	return row as BatchRow | undefined;
}

export async function getBatchOrThrow(id: string, tx: Executor = db()): Promise<BatchRow> {
	const row = await findBatch(id, tx);
	if (!row) throw notFound(`No batch ${id}.`, 'batchId');
	return row;
}

/**
 * Moves a batch to `to` if the transition table allows it from its current status.
 * Returns the updated row, or null when the batch was not in an allowed status (a
 * racing process changed it first). Sets started_at / completed_at, and publishes
 * a live update (always, since status changes are never coalesced away).
 */
export async function transitionBatch(
	id: string,
	to: BatchStatus,
	opts: { from?: BatchStatus[]; error?: string | null; tx?: Executor } = {}
): Promise<BatchRow | null> {
	const from = (opts.from ?? sourcesOf(to)).filter((f) => canTransition(f, to));
	if (from.length === 0) throw new Error(`No transition to ${to} from ${opts.from?.join(',')}`);
	const tx = opts.tx ?? db();
	const [row] = await tx
		.update(batchOperations)
		.set({
			status: to,
			updatedAt: dsql`now()`,
			...(to === 'PROCESSING' ? { startedAt: dsql`coalesce(${batchOperations.startedAt}, now())` } : {}),
			// A re-opened batch (retry-failed) is not complete any more.
			...(isTerminal(to) ? { completedAt: dsql`now()` } : { completedAt: null }),
			...(opts.error !== undefined ? { error: opts.error } : {})
		})
		.where(dsql`${batchOperations.id} = ${id} and ${batchOperations.status} = any(${dsql.param(from)}::text[])`)
		.returning();
	if (!row) return null;
	await publishBatchUpdate(row.id, { statusChange: true, tx });
	return row as BatchRow;
}

/** Like transitionBatch, but a refused transition is the caller's error (API actions). */
export async function transitionOrThrow(id: string, to: BatchStatus, opts: { tx?: Executor } = {}) {
	const row = await transitionBatch(id, to, opts);
	if (row) return row;
	const current = await getBatchOrThrow(id, opts.tx);
	throw new DomainError(
		'PRECONDITION_FAILED',
		`Batch ${id} is ${current.status}; it cannot become ${to}.`,
		'batchId'
	);
}
