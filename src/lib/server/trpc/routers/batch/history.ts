import { authedProcedure } from '../../init';
import { batchListInput, batchStatsInput } from '../../../../schemas/bulk';
import { listBatches } from '../../../batches/list';
import { batchStats } from '../../../batches/stats';
import { tableSizes } from '../../../ledger/table-sizes';

export const batchHistoryProcedures = {
	/** { items: BatchDto[], total }, newest first; type/status filters, limit ≤ 200. */
	list: authedProcedure.input(batchListInput).query(({ input }) => listBatches(input)),
	/** { total, byType, byStatus, successRate, totalProcessed, totalSuccess, totalFailed, perDay }. */
	stats: authedProcedure.input(batchStatsInput).query(({ input }) => batchStats(input)),
	/** { retentionDays, tables: [{ table, bytes, rowsEstimate }] }: the main tables' size on disk, largest first. */
	tableSizes: authedProcedure.query(() => tableSizes())
};
