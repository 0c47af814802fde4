import { sql } from '../db/client';
import { env } from '../env';

export type TableSize = { table: string; bytes: number; rowsEstimate: number };

/**
 * The app's main tables with their size on disk (indexes and TOAST included) and the
 * planner's row estimate, from main_table_sizes() (its migration): catalog reads only,
 * no scan, so the stats page can ask on every load. With the retention setting, so
 * the page can say how long per-item rows are kept.
 */
export async function tableSizes(): Promise<{ retentionDays: number; tables: TableSize[] }> {
	const rows = await sql()<{ table_name: string; bytes: string; rows_estimate: string }[]>`
		select table_name, bytes, rows_estimate from main_table_sizes()`;
	return {
		retentionDays: env().ledger.retentionDays,
		tables: rows.map((r) => ({ table: r.table_name, bytes: Number(r.bytes), rowsEstimate: Number(r.rows_estimate) }))
	};
}
