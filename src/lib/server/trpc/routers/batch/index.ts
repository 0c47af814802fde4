import { router } from '../../init';
import { batchQueryProcedures } from './query';
import { batchLiveProcedures } from './live';
import { batchBulkProcedures } from './bulk';
import { batchHistoryProcedures } from './history';
import { batchSendProcedures } from './send';
import { batchControlProcedures } from './control';
import { batchImportProcedures } from './import';
import { batchUndoProcedures } from './undo';

/**
 * The `batch` router, assembled from one file per concern so features can grow
 * without touching each other: import, send and control, bulk tags/delete, queries.
 */
export const batchRouter = router({
	...batchImportProcedures,
	...batchQueryProcedures,
	...batchLiveProcedures,
	...batchBulkProcedures,
	...batchHistoryProcedures,
	...batchSendProcedures,
	...batchControlProcedures,
	...batchUndoProcedures
});
