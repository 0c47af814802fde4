import { z } from 'zod';
import { importContact } from '../../schemas/import';

/**
 * Every task the worker runs and the payload it takes. Enqueueing is typed from this
 * map, and the worker parses each payload with it before running the task.
 * Feature code adds one entry per task.
 */
export const taskPayloads = {
	/** Housekeeping: drop expired sessions and old login failures. */
	'maintenance:cleanup': z.object({}).passthrough(),
	/** A no-op used by tests and health checks of the queue. */
	'system:echo': z.object({ message: z.string(), sleepMs: z.number().int().min(0).optional() }),
	/** Runs a TAG or DELETE batch (bulk/run.ts). */
	'bulk:run': z.object({ batchId: z.string().uuid() }),
	/** Runs an IMPORT batch (imports/run.ts); JSON imports carry their contacts here. */
	'import:run': z.object({ batchId: z.string().uuid(), contacts: z.array(importContact).optional() }),
	/** One lane of a SEND batch (batches/send-slice.ts); spawn opens the other lanes. */
	'send:slice': z.object({ batchId: z.string().uuid(), lane: z.number().int().min(0).default(0), spawn: z.boolean().optional() })
} satisfies Record<string, z.ZodType>;

export type TaskName = keyof typeof taskPayloads;
export type TaskPayload<T extends TaskName> = z.infer<(typeof taskPayloads)[T]>;
