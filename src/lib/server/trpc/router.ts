import { router } from './init';
import { health } from './routers/health';
import { authRouter } from './routers/auth';
import { tokensRouter } from './routers/tokens';
import { usersRouter } from './routers/users';
import { batchRouter } from './routers/batch';
import { templatesRouter } from './routers/templates';
import { channelsRouter } from './routers/channels';
import { outboxRouter } from './routers/outbox';
import { contactsRouter } from './routers/contacts';
import { auditRouter } from './routers/audit';

/** Every procedure of the app. Feature routers are added here, one line each. */
export const appRouter = router({
	health,
	auth: authRouter,
	tokens: tokensRouter,
	users: usersRouter,
	batch: batchRouter,
	contacts: contactsRouter,
	templates: templatesRouter,
	channels: channelsRouter,
	outbox: outboxRouter,
	audit: auditRouter
});

export type AppRouter = typeof appRouter;
