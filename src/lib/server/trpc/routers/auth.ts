import { z } from 'zod';
import { login } from '../../auth/login';
import { deleteSession } from '../../auth/sessions';
import { authedProcedure, publicProcedure, router } from '../init';

export const authRouter = router({
	login: publicProcedure
		.input(z.object({ email: z.string().trim().email(), password: z.string().min(1).max(1024) }))
		.mutation(async ({ input, ctx }) => {
			const session = await login({ ...input, ip: ctx.ip, userAgent: ctx.userAgent });
			ctx.setCookie?.(session.token, session.expiresAt);
			return { user: session.user, expiresAt: session.expiresAt };
		}),
	logout: authedProcedure.mutation(async ({ ctx }) => {
		if (ctx.sessionToken) await deleteSession(ctx.sessionToken);
		ctx.setCookie?.(null);
		return { ok: true };
	}),
	me: authedProcedure.query(({ ctx }) => ctx.user)
});
