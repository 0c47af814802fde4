import { sql, type Executor } from '../db/client';
import { taskPayloads, type TaskName, type TaskPayload } from './payloads';

export type EnqueueOptions = {
	runAt?: Date;
	/** A job_key replaces a still-queued job with the same key (debounce, not dedupe). */
	jobKey?: string;
	/** With jobKey: 'preserve_run_at' keeps a queued job's time (a sweep that many callers ask for, not pushed back by each). */
	jobKeyMode?: 'replace' | 'preserve_run_at';
	queueName?: string;
	maxAttempts?: number;
	priority?: number;
};

/**
 * Adds a job through graphile-worker's own SQL function, on `ex`: given the caller's
 * transaction, the job exists exactly when the domain write that needs it commits.
 */
export async function enqueue<T extends TaskName>(
	task: T,
	payload: TaskPayload<T>,
	opts: EnqueueOptions = {},
	ex: Executor = sql()
): Promise<void> {
	const parsed = taskPayloads[task].parse(payload);
	await ex`
		select graphile_worker.add_job(
			${task}::text,
			${JSON.stringify(parsed)}::json,
			queue_name => ${opts.queueName ?? null}::text,
			run_at => ${opts.runAt ?? null}::timestamptz,
			max_attempts => ${opts.maxAttempts ?? 25}::int,
			job_key => ${opts.jobKey ?? null}::text,
			priority => ${opts.priority ?? 0}::int,
			job_key_mode => ${opts.jobKeyMode ?? 'replace'}::text
		)`;
}
