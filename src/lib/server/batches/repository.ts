import { sql, type Executor } from '../db/client';
import type { batchOperations, BatchStatus, BatchType } from '../db/schema';
import { DomainError, badInput, notFound } from '../errors';
import { canTransition, isTerminal, sourcesOf } from './transitions';
import { publishBatchUpdate } from '../events/publish';
import { quietFromColumns } from '../../schemas/quiet';

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
		unknownCount: b.unknownCount,
		deliveredCount: b.deliveredCount,
		readCount: b.readCount,
		undeliveredCount: b.undeliveredCount,
		progress: progressOf(b),
		createdAt: b.createdAt,
		scheduledAt: b.scheduledAt,
		startedAt: b.startedAt,
		completedAt: b.completedAt,
		error: b.error,
		/** The row's last change (counters, status): lets a client drop an answer older than the one it shows. */
		updatedAt: b.updatedAt as Date | null,
		/** Past LEDGER_RETENTION_DAYS: the per-item rows are gone (failed rows and the counts stay). */
		detailsPruned: b.detailsPruned ? { at: b.detailsPruned.at, afterDays: b.detailsPruned.afterDays } : null
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
		updatedAt: b.updatedAt as Date | null,
		/** The UNDO batch that undoes this IMPORT/DELETE (null: not undone). */
		undoneBy: b.undoneBy,
		/** SEND: the quiet window in the recipients' local time (HH:MM), null: none. */
		quietHours: quietFromColumns(b.quietStart, b.quietEnd)
	};
}
export type BatchDto = ReturnType<typeof toBatchDto>;

/**
 * A batch_operations row under the names of BatchRow (drizzle's inferred row type),
 * so raw statements and the builder hand back the same shape.
 */
const batchColumns = (ex: Executor) => ex`
	id, type, status, total_count as "totalCount", processed_count as "processedCount",
	success_count as "successCount", failed_count as "failedCount", skipped_count as "skippedCount",
	unknown_count as "unknownCount", delivered_count as "deliveredCount", read_count as "readCount",
	undelivered_count as "undeliveredCount",
	input, result, created_by::int as "createdBy", created_at as "createdAt",
	scheduled_at as "scheduledAt", started_at as "startedAt", completed_at as "completedAt",
	updated_at as "updatedAt", error, idempotency_key as "idempotencyKey",
	idempotency_hash as "idempotencyHash", channel_id as "channelId",
	rate_per_minute as "ratePerMinute", jitter_ms as "jitterMs", next_send_at as "nextSendAt",
	breaker_from as "breakerFrom", undone_by as "undoneBy", archive_purged_at as "archivePurgedAt", details_pruned as "detailsPruned",
	quiet_start as "quietStart", quiet_end as "quietEnd"`;

export async function findBatch(id: string, ex: Executor = sql()): Promise<BatchRow | undefined> {
	const [row] = await ex<BatchRow[]>`
		select ${batchColumns(ex)}
		from batch_operations
		where id = ${id}`;
	return row;
}

export async function getBatchOrThrow(id: string, ex: Executor = sql()): Promise<BatchRow> {
	const row = await findBatch(id, ex);
	if (!row) throw notFound(`No batch ${id}.`, 'batchId');
	return row;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const asUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
/** The fewest characters of an id that resolveBatchId takes (the pages show 8). */
export const MIN_ID_PREFIX = 4;

/**
 * A batch id from its full UUID or a prefix of it (the 8 characters the pages show,
 * dashes optional). A prefix is a range of the primary key (uuid order is the order
 * of its hex digits): one index probe of at most two rows. No batch: NOT_FOUND;
 * several: BAD_INPUT asking for more characters.
 */
export async function resolveBatchId(ref: string, ex: Executor = sql()): Promise<string> {
	const s = ref.trim().toLowerCase();
	if (UUID.test(s)) return s;
	const hex = s.replaceAll('-', '');
	if (!new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},31}$`).test(hex)) {
		throw badInput(`"${ref}" is not a batch id: give the id or its first ${MIN_ID_PREFIX} characters or more.`, 'batchId');
	}
	const rows = await ex<{ id: string }[]>`
		select id from batch_operations
		where id between ${asUuid(hex.padEnd(32, '0'))}::uuid and ${asUuid(hex.padEnd(32, 'f'))}::uuid
		order by id limit 2`;
	if (rows.length === 0) throw notFound(`No batch id starts with ${s}.`, 'batchId');
	if (rows.length > 1) throw badInput(`Several batches have ids starting with ${s}: give more characters.`, 'batchId');
	return rows[0].id;
}

/**
 * Inserts a PENDING batch in the caller's transaction; the caller adds its job there
 * too (jobs/enqueue.ts), so a batch never exists without the job that runs it.
 */
export async function insertBatch(
	tx: Executor,
	b: { type: BatchType; input: Record<string, unknown>; totalCount: number; createdBy: number | null }
): Promise<BatchRow> {
	const [row] = await tx<BatchRow[]>`
		insert into batch_operations (type, status, input, total_count, created_by)
		values (${b.type}, 'PENDING', ${JSON.stringify(b.input)}::jsonb, ${b.totalCount}, ${b.createdBy})
		returning ${batchColumns(tx)}`;
	return row;
}

/**
 * Moves a batch to `to` if the transition table allows it from its current status.
 * Returns the updated row, or null when the batch was not in an allowed status (a
 * racing process changed it first: the WHERE on status makes the check and the write
 * one step). Sets started_at (first start only) and completed_at (cleared when a
 * batch re-opens), and publishes a live update: status changes are never coalesced.
 */
export async function transitionBatch(
	id: string,
	to: BatchStatus,
	opts: { from?: BatchStatus[]; error?: string | null; tx?: Executor } = {}
): Promise<BatchRow | null> {
	const from = (opts.from ?? sourcesOf(to)).filter((f) => canTransition(f, to));
	if (from.length === 0) throw new Error(`No transition to ${to} from ${opts.from?.join(',')}`);
	const ex = opts.tx ?? sql();
	const [row] = await ex<BatchRow[]>`
		update batch_operations set
			status = ${to},
			updated_at = now(),
			started_at = case when ${to} = 'PROCESSING' then coalesce(started_at, now()) else started_at end,
			completed_at = case when ${isTerminal(to)} then now() end,
			error = case when ${opts.error !== undefined} then ${opts.error ?? null} else error end
		where id = ${id}
			and status = any(${from}::text[])
		returning ${batchColumns(ex)}`;
	if (!row) return null;
	await publishBatchUpdate(row.id, { statusChange: true, tx: ex });
	return row;
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
