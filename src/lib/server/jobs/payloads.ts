import { z } from 'zod';
import { importContact } from '../../schemas/import';

/**
 * Every task's name, defined once: enqueue callers, the worker's task list, the
 * crontab and queries on graphile_worker.jobs use these constants, never a literal.
 */
export const TASK = {
	cleanup: 'maintenance:cleanup',
	echo: 'system:echo',
	bulkRun: 'bulk:run',
	importRun: 'import:run',
	sendSlice: 'send:slice',
	receiptsParked: 'receipts:parked',
	undoRun: 'undo:run',
	archivePurge: 'maintenance:archive-purge',
	ledgerRetention: 'maintenance:ledger-retention'
} as const;

/**
 * Every task the worker runs and the payload it takes. Enqueueing is typed from this
 * map, and the worker parses each payload with it before running the task
 * (worker/task.ts). Feature code adds one entry per task, and its name to TASK.
 * A task whose payload has a `batchId` runs that batch: when its job gives up for
 * good, the batch is FAILED with the reason.
 */
export const taskPayloads = {
	/** Housekeeping: drop expired sessions and old login failures. */
	[TASK.cleanup]: z.object({}).passthrough(),
	/** A no-op used by tests and health checks of the queue. */
	[TASK.echo]: z.object({ message: z.string(), sleepMs: z.number().int().min(0).optional() }),
	/** Runs a TAG or DELETE batch (bulk/run.ts). */
	[TASK.bulkRun]: z.object({ batchId: z.string().uuid() }),
	/** Runs an IMPORT batch (imports/run.ts); JSON imports carry their contacts here. */
	[TASK.importRun]: z.object({ batchId: z.string().uuid(), contacts: z.array(importContact).optional() }),
	/** One lane of a SEND batch (send/slice.ts); spawn opens the other lanes. */
	[TASK.sendSlice]: z.object({ batchId: z.string().uuid(), lane: z.number().int().min(0).default(0), spawn: z.boolean().optional() }),
	/** Applies delivery receipts that arrived before their send's message id was recorded (receipts/parked.ts). */
	[TASK.receiptsParked]: z.object({}).passthrough(),
	/** Runs an UNDO batch (undo/run.ts). */
	[TASK.undoRun]: z.object({ batchId: z.string().uuid() }),
	/** Purges the archives (deleted contacts, imports' undo data) past ARCHIVE_RETENTION_DAYS (undo/purge.ts). */
	[TASK.archivePurge]: z.object({}).passthrough(),
	/** Daily: drops per-item rows of batches past LEDGER_RETENTION_DAYS, sweeps orphaned uploads (ledger/retention.ts). */
	[TASK.ledgerRetention]: z.object({}).passthrough()
} satisfies Record<string, z.ZodType>;

export type TaskName = keyof typeof taskPayloads;
export type TaskPayload<T extends TaskName> = z.infer<(typeof taskPayloads)[T]>;
