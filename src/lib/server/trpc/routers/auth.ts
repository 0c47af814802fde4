import { z } from 'zod';
import { login } from '../../auth/login';
import { signOut } from '../../auth/sessions';
import { changeOwnPassword } from '../../auth/users';
import { changePasswordInput } from '../../../schemas/accounts';
import { authedProcedure, loneProcedure, router } from '../init';

export const authRouter = router({
	/** Never inside a batch: its calls run concurrently, one request would be many guesses. */
	login: loneProcedure
		.input(z.object({ email: z.string().trim().email(), password: z.string().min(1).max(1024) }))
		.mutation(async ({ input, ctx }) => {
			const session = await login({ ...input, ip: ctx.ip, userAgent: ctx.userAgent });
			ctx.setCookie?.(session.token, session.expiresAt);
			return { user: session.user, expiresAt: session.expiresAt };
		}),
	logout: authedProcedure.mutation(async ({ ctx }) => {
		if (ctx.sessionToken) await signOut(ctx.sessionToken, ctx);
		ctx.setCookie?.(null);
		return { ok: true };
	}),
	me: authedProcedure.query(({ ctx }) => ctx.user),
	/** Any signed-in user, for their own account; the current password is required. */
	changePassword: authedProcedure
		.input(changePasswordInput)
		.mutation(({ ctx, input }) =>
			changeOwnPassword({
				userId: ctx.user.id,
				oldPassword: input.oldPassword,
				newPassword: input.newPassword,
				keepSessionToken: ctx.sessionToken
			}, ctx)
		)
});
