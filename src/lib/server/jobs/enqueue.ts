import { sql as dsql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { db } from '../db/client';
import { taskPayloads, type TaskName, type TaskPayload } from './payloads';

/** A drizzle database or transaction: enqueueing inside the caller's transaction
 * means a job exists exactly when the domain write that needs it commits. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = PgDatabase<PgQueryResultHKT, any, any>;

export type EnqueueOptions = {
	runAt?: Date;
	/** A job_key replaces a still-queued job with the same key (debounce, not dedupe). */
	jobKey?: string;
	queueName?: string;
	maxAttempts?: number;
	priority?: number;
};

export async function enqueue<T extends TaskName>(
	task: T,
	payload: TaskPayload<T>,
	opts: EnqueueOptions = {},
	tx: Executor = db()
): Promise<void> {
	const parsed = taskPayloads[task].parse(payload);
	await tx.execute(dsql`select graphile_worker.add_job(
		${task}::text,
		${JSON.stringify(parsed)}::json,
		queue_name => ${opts.queueName ?? null}::text,
		run_at => ${opts.runAt?.toISOString() ?? null}::timestamptz,
		max_attempts => ${opts.maxAttempts ?? 25}::int,
		job_key => ${opts.jobKey ?? null}::text,
		priority => ${opts.priority ?? 0}::int
	)`);
}
