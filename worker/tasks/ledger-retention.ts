import { dailyLedgerMaintenance } from '../../src/lib/server/ledger/retention';
import type { TaskHandler } from '../task';

/** Daily (crontab in ./index.ts): ledger retention, then the orphaned-upload sweep. Safe to run twice: each step picks up what is left. */
export const ledgerRetention: TaskHandler<'maintenance:ledger-retention'> = async (_payload, helpers) => {
	const r = await dailyLedgerMaintenance();
	helpers.logger.info(`ledger retention: ${r.rows} rows of ${r.batches} batches pruned; ${r.uploads} orphaned uploads removed`);
};
