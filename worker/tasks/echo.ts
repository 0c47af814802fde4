import type { TaskHandler } from '../task';

export const echo: TaskHandler<'system:echo'> = async (payload, helpers) => {
	if (payload.sleepMs) await new Promise((r) => setTimeout(r, payload.sleepMs));
	helpers.logger.info(`echo: ${payload.message}`);
};
