import { tokenCreateInput, tokenIdInput } from '../../../schemas/accounts';
import { createApiToken, listAllApiTokens, listApiTokens, revokeApiToken } from '../../auth/tokens';
import { adminProcedure, authedProcedure, router } from '../init';

// Every signed-in user manages their own tokens; a token acts with its owner's role.
// Admins also see and revoke everyone's (offboarding, a leaked token).
export const tokensRouter = router({
	list: authedProcedure.query(({ ctx }) => listApiTokens(ctx.user.id)),
	listAll: adminProcedure.query(() => listAllApiTokens()),
	create: authedProcedure.input(tokenCreateInput).mutation(({ ctx, input }) => {
		const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
		return createApiToken(ctx.user.id, input.name, expiresAt, ctx);
	}),
	revoke: authedProcedure
		.input(tokenIdInput)
		.mutation(({ ctx, input }) => revokeApiToken(ctx.user.role === 'admin' ? null : ctx.user.id, input.id, ctx))
});
