import { auditListInput } from '../../../schemas/audit';
import { auditActions, listAudit } from '../../audit/list';
import { adminProcedure, router } from '../init';

// Read-only by design: the log is append-only (a trigger refuses UPDATE and DELETE), and
// no procedure edits or deletes an entry. Admins only; operators and viewers are refused.
export const auditRouter = router({
	/** { items, total }: entries newest first, filtered by action, actor (user id) and time. */
	list: adminProcedure.input(auditListInput).query(({ input }) => listAudit(input)),
	/** The action names present in the log, for the page's filter. */
	actions: adminProcedure.query(() => auditActions())
});
