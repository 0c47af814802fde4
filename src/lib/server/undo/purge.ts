import { sql } from '../db/client';
import { env } from '../env';
import { logger } from '../log';

const log = logger.child({ module: 'archive-purge' });

/** Rows per purge statement, as for bulk batches: one bounded statement per chunk. */
const CHUNK = 10_000;

/**
 * Purges the archives an undo would need once their batch ended more than
 * ARCHIVE_RETENTION_DAYS ago: the deleted contacts of a DELETE, the created ids and
 * overwritten values of an IMPORT, and the target lists UNDO batches left behind when
 * cancelled. Each batch is first marked archive_purged_at (batch.undo then refuses it
 * with a clear reason instead of undoing half), then emptied chunk by chunk. Runs from
 * the worker's crontab; a purge cut short is finished by the next run (marked batches
 * with rows left are taken again).
 */
export async function purgeArchives(opts: { retentionDays?: number } = {}): Promise<{ batches: number; rows: number }> {
	const days = opts.retentionDays ?? env().bulk.archiveRetentionDays;
	const q = sql();
	await q`update batch_operations set archive_purged_at = now()
		where type in ('IMPORT', 'DELETE') and archive_purged_at is null
			and completed_at < now() - make_interval(days => ${days}::int)`;
	const marked = await q<{ id: string; type: string }[]>`
		select id, type from batch_operations b
		where archive_purged_at is not null and (
			(type = 'DELETE' and exists (select 1 from deleted_contacts d where d.batch_id = b.id))
			or (type = 'IMPORT' and (exists (select 1 from import_chunks k where k.batch_id = b.id and k.created_ids is not null)
				or exists (select 1 from import_rows r where r.batch_id = b.id and r.outcome = 'updated' and r.prev_tags is not null))))`;
	let rows = 0;
	for (const b of marked) {
		if (b.type === 'DELETE') {
			for (;;) {
				const r = await q`delete from deleted_contacts where batch_id = ${b.id} and contact_id = any(array(
					select contact_id from deleted_contacts where batch_id = ${b.id} order by contact_id limit ${CHUNK}))`;
				rows += r.count;
				if (r.count < CHUNK) break;
			}
		} else {
			rows += (await q`update import_chunks set created_ids = null where batch_id = ${b.id} and created_ids is not null`).count;
			for (;;) {
				const r = await q`update import_rows set prev_name = null, prev_tags = null, prev_attributes = null
					where batch_id = ${b.id} and row_number = any(array(
						select row_number from import_rows where batch_id = ${b.id} and outcome = 'updated' and prev_tags is not null
						order by row_number limit ${CHUNK}))`;
				rows += r.count;
				if (r.count < CHUNK) break;
			}
		}
	}
	// An UNDO batch empties its list as it goes; a cancelled or failed one leaves the rest.
	const left = await q`delete from undo_targets t using batch_operations b
		where b.id = t.batch_id and b.status in ('COMPLETED', 'FAILED', 'CANCELLED')
			and b.completed_at < now() - make_interval(days => ${days}::int)`;
	rows += left.count;
	if (marked.length || rows) log.info({ batches: marked.length, rows, retentionDays: days }, 'archives purged');
	return { batches: marked.length, rows };
}
