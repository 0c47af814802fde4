import { z } from 'zod';
import { listOffset } from '../../../../schemas/paging';
import { authedProcedure, operatorProcedure } from '../../init';
import { importJsonInput } from '../../../../schemas/import';
import { createJsonImport } from '../../../imports/create';
import { importLedger } from '../../../imports/ledger';

export const batchImportProcedures = {
	/** Small imports as JSON (capped by IMPORT_JSON_MAX_CONTACTS); files go through POST /api/imports. */
	import: operatorProcedure.input(importJsonInput).mutation(({ ctx, input }) => createJsonImport(ctx.user.id, input, ctx)),
	/** The per-row ledger of an import: rows that were updated, duplicates and invalid rows, with reasons. */
	importRows: authedProcedure
		.input(
			z.object({
				batchId: z.string().uuid('batchId must be a batch id (UUID)'),
				outcome: z.enum(['updated', 'duplicate', 'invalid']).optional(),
				limit: z.number().int().min(1).max(500).default(50),
				offset: listOffset
			})
		)
		.query(({ input }) => importLedger(input))
};
