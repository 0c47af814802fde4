import type { JobHelpers, Task } from 'graphile-worker';
import { z } from 'zod';
import { isConnectionError, sql } from '../src/lib/server/db/client';
import { env } from '../src/lib/server/env';
import { transitionBatch } from '../src/lib/server/batches/repository';
import { taskPayloads, type TaskName, type TaskPayload } from '../src/lib/server/jobs/payloads';

export type TaskHandler<T extends TaskName> = (payload: TaskPayload<T>, helpers: JobHelpers) => Promise<void>;

/**
 * What a task is. `run` does the work; a throw is retried with graphile-worker's
 * backoff until the job's last attempt. A job gives up for good when its payload is
 * malformed (at once: it would never parse) or when `run` throws on the last attempt;
 * then, if the payload names a batch, `onFinalFailure` runs once with a short reason.
 */
export type TaskSpec<T extends TaskName> = {
	run: TaskHandler<T>;
	/**
	 * The batch this job ran cannot finish: record why, and undo or release what only
	 * this batch type holds. By default the batch becomes FAILED (from PENDING or
	 * PROCESSING, per the transition table) with the reason as its error.
	 */
	onFinalFailure?: (batchId: string, reason: string) => Promise<void>;
};

/** The longest reason written to a batch's error. */
export const REASON_MAX = 500;
/** Validation issues named in a reason; the rest are only counted. */
const ISSUES_SHOWN = 3;

/**
 * Wraps a task (a TaskSpec, or just its `run` when the default final failure will do)
 * in the one contract every task follows: its payload is checked with the
 * task's zod schema (jobs/payloads.ts) first, and a job that gives up for good fails its
 * batch (see TaskSpec) and stays in graphile_worker.jobs as permanently failed
 * (attempts = max_attempts, last_error = the reason), never retried.
 */
export function defineTask<T extends TaskName>(name: T, task: TaskSpec<T> | TaskHandler<T>): Task {
	const spec = typeof task === 'function' ? { run: task } : task;
	const onFinalFailure = spec.onFinalFailure ?? failBatch;
	return async (raw, helpers) => {
		const parsed = taskPayloads[name].safeParse(raw);
		if (!parsed.success) {
			const reason = cap(`Bad payload for ${name}: ${describeIssues(parsed.error)}`);
			const batchId = batchIdOf(name, raw);
			if (batchId) await onFinalFailure(batchId, reason);
			await lastAttempt(helpers);
			throw new Error(reason);
		}
		try {
			await spec.run(parsed.data as TaskPayload<T>, helpers);
		} catch (e) {
			// A lost database connection says nothing about the job: within the grace it is
			// queued again as it was, its attempts untouched, instead of failing a batch.
			if (isConnectionError(e) && (await requeueAfterOutage(name, raw, helpers, e))) return;
			if (helpers.job.attempts < helpers.job.max_attempts) throw e;
			// The last attempt: graphile-worker will not run this job again, so the batch
			// must not be left PENDING or PROCESSING with nothing to move it on.
			const batchId = batchIdOf(name, parsed.data);
			if (batchId) {
				const n = helpers.job.attempts;
				const message = e instanceof Error && e.message ? e.message : String(e);
				const reason = `${cap(message, REASON_MAX - 40)} (gave up after ${n} attempt${n === 1 ? '' : 's'})`;
				try {
					await onFinalFailure(batchId, reason);
				} catch (hookError) {
					helpers.logger.error(`${name}: could not fail batch ${batchId} after the last attempt: ${String(hookError)}`);
				}
			}
			throw e;
		}
	};
}

/** Where a job's payload keeps when its first outage began (stripped by every task's schema). */
const OUTAGE_KEY = '_outageSince';

/**
 * Queues the job again, as it is (key, queue, priority, attempts left), a few seconds
 * from now, while the outage it hit is younger than WORKER_OUTAGE_GRACE_SECONDS; this
 * attempt then ends successfully and does not count. Waits (with back-off) for the
 * database to take the new job; false once the grace is over (the error stands).
 * add_job given the key of this job, which is locked while it runs, clears that key and
 * adds a fresh job, so the continuation is never merged into the attempt that ends.
 */
async function requeueAfterOutage(name: TaskName, raw: unknown, helpers: JobHelpers, err: unknown): Promise<boolean> {
	const payload = raw && typeof raw === 'object' ? { ...(raw as Record<string, unknown>) } : {};
	const since = typeof payload[OUTAGE_KEY] === 'number' ? (payload[OUTAGE_KEY] as number) : Date.now();
	payload[OUTAGE_KEY] = since;
	const graceMs = env().worker.outageGraceSeconds * 1000;
	const job = helpers.job;
	const attemptsLeft = Math.max(1, job.max_attempts - job.attempts + 1);
	for (let n = 0; Date.now() - since < graceMs; n++) {
		try {
			await sql()`
				select graphile_worker.add_job(
					${name}::text, ${JSON.stringify(payload)}::json,
					queue_name => (select queue_name from graphile_worker._private_job_queues where id = ${job.job_queue_id ?? null}::int),
					run_at => now() + interval '2 seconds',
					max_attempts => ${attemptsLeft}::int,
					job_key => ${job.key ?? null}::text,
					priority => ${job.priority}::int)`;
			helpers.logger.warn(`${name}: lost the database connection (${String((err as Error)?.message ?? err)}); queued again`);
			return true;
		} catch (e) {
			if (!isConnectionError(e)) return false;
			await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** n, 5_000)));
		}
	}
	return false;
}

/** The default final failure: the batch is FAILED with the reason (if it can still move). */
async function failBatch(batchId: string, reason: string) {
	await transitionBatch(batchId, 'FAILED', { error: reason });
}

/**
 * Makes the running attempt the job's last: graphile-worker records the error thrown
 * next as last_error, and never fetches a job whose attempts reached max_attempts.
 * (graphile_worker.permanently_fail_jobs / WorkerUtils.permanentlyFailJobs leave a
 * locked job alone, and a running job is locked by its worker until the task returns.)
 */
async function lastAttempt(helpers: JobHelpers) {
	await sql()`
		update graphile_worker._private_jobs
		set max_attempts = attempts
		where id = ${helpers.job.id}::bigint`;
}

const batchRef = z.object({ batchId: z.string().uuid() });

/** The batch a job runs, when its task takes one and the payload names it (even a payload bad elsewhere). */
function batchIdOf(name: TaskName, payload: unknown): string | null {
	if (!('batchId' in (taskPayloads[name] as z.ZodObject).shape)) return null;
	const ref = batchRef.safeParse(payload);
	return ref.success ? ref.data.batchId : null;
}

/** The first few issues with their paths, and how many more: a reason, not a dump. */
export function describeIssues(error: z.ZodError): string {
	const shown = error.issues.slice(0, ISSUES_SHOWN).map((i) => `${i.path.length ? i.path.map(String).join('.') : '(payload)'}: ${i.message}`);
	const more = error.issues.length - shown.length;
	return shown.join('; ') + (more > 0 ? `; and ${more} more issue${more === 1 ? '' : 's'}` : '');
}

function cap(s: string, max = REASON_MAX): string {
	return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
