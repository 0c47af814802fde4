import { operatorProcedure } from '../../init';
import { batchIdInput } from '../../../../schemas/send';
import { createUndoBatch } from '../../../undo/create';

export const batchUndoProcedures = {
	/**
	 * UNDO batch of a finished IMPORT (removes what it created, puts back what it
	 * overwrote) or DELETE (restores the archived contacts). Refusals of the whole batch
	 * are typed errors with data.reason (wrong_type, not_finished, already_undone,
	 * archive_purged, no_undo_data); contacts that cannot be undone are listed in the
	 * UNDO batch's items. Returns the UNDO batch.
	 */
	undo: operatorProcedure.input(batchIdInput).mutation(({ input, ctx }) => createUndoBatch(input.batchId, ctx.user.id, ctx))
};
