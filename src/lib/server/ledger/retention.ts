import { sql } from '../db/client';
import type { DetailsPruned } from '../db/schema';
import { env } from '../env';
import { logger } from '../log';
import { ledgerSummary } from '../batches/items';
import type { BatchRow } from '../batches/repository';
import { sweepOrphanUploads } from '../imports/upload';

const log = logger.child({ module: 'ledger' });

/** Rows deleted per statement: short transactions, so sends and imports running meanwhile never wait long on them. */
const DELETE_CHUNK = 20_000;
/** Batches pruned per run; the next day's run takes the rest (a first run on an old database). */
const BATCHES_PER_RUN = 500;

/**
 * The per-item tables a finished batch sheds after LEDGER_RETENTION_DAYS, each with
 * what it keeps: the failed rows (a send's failed and unknown recipients, an import's
 * invalid rows, for the failed-rows download and retries). Deleted in chunks.
 */
const PRUNED = [
	{ table: 'batch_items', keep: "status in ('failed', 'unknown')" },
	{ table: 'import_rows', keep: "outcome = 'invalid'" },
	{ table: 'import_chunks', keep: null },
	{ table: 'batch_targets', keep: null },
	{ table: 'deleted_contacts', keep: null },
	{ table: 'undo_targets', keep: null }
] as const;

export type PruneResult = { batches: number; rows: number };

/**
 * Drops the per-item rows of batches that ended more than `days` ago (default
 * LEDGER_RETENTION_DAYS; 0 turns it off). Per batch: its ledger breakdown is stored
 * first (details_pruned, which batch.get shows from then on, so the counts by status and
 * the top errors stay as they were), then rows go in chunks, then the batch is marked
 * done. A run that stops halfway (a worker killed) is finished by the next one.
 * Deletes, not partitions: see README ("Ledger retention").
 */
export async function pruneLedgers(opts: { days?: number } = {}): Promise<PruneResult> {
	const days = opts.days ?? env().ledger.retentionDays;
	if (days <= 0) return { batches: 0, rows: 0 };
	const due = await sql()<{ id: string }[]>`
		select id from batch_operations
		where status in ('COMPLETED', 'FAILED', 'CANCELLED')
			and coalesce(completed_at, updated_at) < now() - make_interval(days => ${days})
			and (details_pruned is null or not (details_pruned->>'done')::boolean)
		order by coalesce(completed_at, updated_at)
		limit ${BATCHES_PER_RUN}`;
	let rows = 0;
	for (const { id } of due) rows += await pruneBatch(id, days);
	if (due.length) log.info({ batches: due.length, rows, days }, 'pruned finished batches\' per-item rows');
	return { batches: due.length, rows };
}

async function pruneBatch(batchId: string, days: number): Promise<number> {
	const [batch] = await sql()<BatchRow[]>`
		select id, type, status, details_pruned as "detailsPruned" from batch_operations where id = ${batchId}`;
	if (!batch) return 0;
	if (!batch.detailsPruned) {
		const summary = await ledgerSummary(batch);
		const pruned: DetailsPruned = { at: new Date().toISOString(), afterDays: days, ...summary, done: false };
		// The archives an undo needs go with the rest: batch.undo refuses it (archive_purged)
		// from here on, also when ARCHIVE_RETENTION_DAYS is the longer of the two.
		await sql()`update batch_operations set details_pruned = ${JSON.stringify(pruned)}::jsonb,
			archive_purged_at = coalesce(archive_purged_at, now())
			where id = ${batchId} and details_pruned is null`;
	}
	const s = sql();
	let rows = 0;
	for (const { table, keep } of PRUNED) {
		for (;;) {
			// ctid: the chunk's rows as found, whatever the table's key.
			const res = await sql()`
				delete from ${s(table)} where ctid = any(array(
					select ctid from ${s(table)}
					where batch_id = ${batchId} ${keep ? s.unsafe(`and not (${keep})`) : s``}
					limit ${DELETE_CHUNK}))`;
			rows += res.count;
			if (res.count < DELETE_CHUNK) break;
		}
	}
	await sql()`update batch_operations set details_pruned = details_pruned || '{"done": true}'::jsonb where id = ${batchId}`;
	return rows;
}

/** The daily maintenance task's work: ledgers past retention, then stored uploads no import needs. */
export async function dailyLedgerMaintenance(): Promise<PruneResult & { uploads: number }> {
	const pruned = await pruneLedgers();
	const uploads = (await sweepOrphanUploads()).length;
	return { ...pruned, uploads };
}
