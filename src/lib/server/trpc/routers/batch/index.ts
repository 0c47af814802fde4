import { router } from '../../init';
import { batchQueryProcedures } from './query';
import { batchLiveProcedures } from './live';

/**
 * The `batch` router, assembled from one file per concern so features can grow
 * without touching each other: import, send and control, bulk tags/delete, queries.
 */
export const batchRouter = router({
	...batchQueryProcedures,
	...batchLiveProcedures
});
