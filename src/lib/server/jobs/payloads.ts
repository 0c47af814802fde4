import { z } from 'zod';

/**
 * Every task the worker runs and the payload it takes. Enqueueing is typed from this
 * map, and the worker parses each payload with it before running the task.
 * Feature code adds one entry per task.
 */
export const taskPayloads = {
	/** Housekeeping: drop expired sessions and old login failures. */
	'maintenance:cleanup': z.object({}).passthrough(),
	/** A no-op used by tests and health checks of the queue. */
	'system:echo': z.object({ message: z.string(), sleepMs: z.number().int().min(0).optional() })
} satisfies Record<string, z.ZodType>;

export type TaskName = keyof typeof taskPayloads;
export type TaskPayload<T extends TaskName> = z.infer<(typeof taskPayloads)[T]>;
