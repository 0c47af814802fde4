import { z } from 'zod';
import { listOffset } from '../../../schemas/paging';
import { authedProcedure, router } from '../init';
import { listOutbox } from '../../channels/outbox';

export const outboxRouter = router({
	list: authedProcedure
		.input(
			z.object({
				batchId: z.string().uuid().optional(),
				search: z.string().trim().max(100).optional(),
				limit: z.number().int().min(1).max(200).default(50),
				offset: listOffset
			})
		)
		.query(({ input }) => listOutbox(input))
});
