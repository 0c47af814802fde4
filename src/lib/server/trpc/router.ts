import { router } from './init';
import { health } from './routers/health';
import { authRouter } from './routers/auth';
import { tokensRouter } from './routers/tokens';
import { usersRouter } from './routers/users';

/** Every procedure of the app. Feature routers are added here, one line each. */
export const appRouter = router({
	health,
	auth: authRouter,
	tokens: tokensRouter,
	users: usersRouter
});

export type AppRouter = typeof appRouter;
