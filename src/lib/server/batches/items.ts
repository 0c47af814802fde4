import { sql } from '../db/client';
import type { BatchRow } from './repository';

/**
 * Per-status counts of a batch's ledger (batch_items for SEND/TAG/DELETE,
 * import_rows outcomes for IMPORT), with the most frequent errors.
 */
export async function itemSummary(batch: BatchRow) {
	if (batch.type === 'IMPORT') {
		const rows = await sql()<{ key: string; n: number }[]>`
			select outcome as key, count(*)::int as n from import_rows where batch_id = ${batch.id} group by outcome`;
		return { byStatus: Object.fromEntries(rows.map((r) => [r.key, r.n])), topErrors: [] as { code: string; n: number; sample: string | null }[] };
	}
	const byStatus = await sql()<{ key: string; n: number }[]>`
		select status as key, count(*)::int as n from batch_items where batch_id = ${batch.id} group by status`;
	// With one of the provider's messages per code, so the page can say what a code means.
	const topErrors = await sql()<{ code: string; n: number; sample: string | null }[]>`
		select coalesce(error_code, error_class, 'unknown') as code, count(*)::int as n, min(error_message) as sample
		from batch_items where batch_id = ${batch.id} and status in ('failed', 'unknown', 'skipped')
		group by 1 order by 2 desc limit 10`;
	return { byStatus: Object.fromEntries(byStatus.map((r) => [r.key, r.n])), topErrors };
}
