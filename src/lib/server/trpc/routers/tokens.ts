import { z } from 'zod';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/tokens';
import { authedProcedure, router } from '../init';

// Every signed-in user manages their own tokens; a token acts with its owner's role.
export const tokensRouter = router({
	list: authedProcedure.query(({ ctx }) => listApiTokens(ctx.user.id)),
	create: authedProcedure
		.input(z.object({ name: z.string().trim().min(1).max(100) }))
		.mutation(({ ctx, input }) => createApiToken(ctx.user.id, input.name)),
	revoke: authedProcedure
		.input(z.object({ id: z.number().int().positive() }))
		.mutation(({ ctx, input }) => revokeApiToken(ctx.user.id, input.id))
});
