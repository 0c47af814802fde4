import { z } from 'zod';
import { authedProcedure, router } from '../init';
import { listOutbox } from '../../channels/outbox';

export const outboxRouter = router({
	list: authedProcedure
		.input(
			z.object({
				batchId: z.string().uuid().optional(),
				search: z.string().trim().max(100).optional(),
				limit: z.number().int().min(1).max(200).default(50),
				offset: z.number().int().min(0).default(0)
			})
		)
		.query(({ input }) => listOutbox(input))
});
