import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql, transaction } from '../db/client';
import { logger } from '../log';

/** This process's id in worker_processes and in ledger claims (items' claimed_by). */
export const WORKER_PROCESS_ID = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

const log = logger.child({ module: 'worker' });

type DeadHandler = (deadProcessIds: string[]) => Promise<void>;
const deadHandlers: DeadHandler[] = [];

/** Features register what to release when a worker process is found dead (e.g. claimed items). */
export function onDeadWorkers(fn: DeadHandler) {
	deadHandlers.push(fn);
}

let registered = false;

export async function heartbeat(workerIds: string[]) {
	const [row] = await sql()<{ inserted: boolean }[]>`
		insert into worker_processes (id, worker_ids, pid, host, last_seen_at)
		values (${WORKER_PROCESS_ID}, ${workerIds}, ${process.pid}, ${os.hostname()}, now())
		on conflict (id) do update set worker_ids = excluded.worker_ids, last_seen_at = now()
		returning (xmax = 0) as inserted`;
	if (registered && row?.inserted) {
		// Our row was gone: another worker found no heartbeat for the dead-after window
		// (a blocked event loop, a paused VM) and released our jobs, which may run twice.
		log.error(
			{ workerProcessId: WORKER_PROCESS_ID },
			'this worker was presumed dead and its jobs released; raise WORKER_DEAD_AFTER_SECONDS if the event loop can block that long'
		);
	}
	registered = true;
}

export async function deregister() {
	await sql()`delete from worker_processes where id = ${WORKER_PROCESS_ID}`;
}

/**
 * graphile-worker leaves a killed worker's jobs locked for 4 hours. A process whose
 * heartbeat is older than `deadAfterSeconds` is dead (live ones beat every few
 * seconds): let features release what it held, then unlock its jobs and forget it.
 * Rows are taken with SKIP LOCKED so two surviving workers do not both unlock one.
 */
export async function recoverDeadWorkers(deadAfterSeconds: number): Promise<string[]> {
	await unlockOrphans(deadAfterSeconds);
	const candidates = await sql()<{ id: string }[]>`
		select id from worker_processes
		where last_seen_at < now() - make_interval(secs => ${deadAfterSeconds})`;
	if (candidates.length === 0) return [];
	// Features release what the dead processes held first, with no lock held here: their
	// handlers are idempotent, and may enqueue jobs whose job_key matches a job the dead
	// process had locked (holding our unlock's row locks meanwhile would deadlock them).
	// If we crash before forgetting the process below, the next round repeats all this.
	const ids = candidates.map((r) => r.id);
	for (const fn of deadHandlers) await fn(ids);
	return transaction(async (tx) => {
		const rows = await tx<{ id: string; worker_ids: string[] }[]>`
			select id, worker_ids from worker_processes
			where id = any(${ids}::text[]) and last_seen_at < now() - make_interval(secs => ${deadAfterSeconds})
			for update skip locked`;
		if (rows.length === 0) return [];
		await tx`select graphile_worker.force_unlock_workers(${rows.flatMap((r) => r.worker_ids)}::text[])`;
		await tx`delete from worker_processes where id = any(${rows.map((r) => r.id)}::text[])`;
		return rows.map((r) => r.id);
	});
}

/**
 * Jobs locked by a worker id no live process has registered, for longer than the
 * dead-after window: a process killed before its first heartbeat, or one from before
 * an upgrade. A live process registers its ids at once, so its locks are never older.
 */
async function unlockOrphans(deadAfterSeconds: number) {
	await transaction(async (tx) => {
		await tx`
			update graphile_worker._private_jobs set locked_at = null, locked_by = null
			where locked_by is not null and locked_at < now() - make_interval(secs => ${deadAfterSeconds})
				and locked_by not in (select unnest(worker_ids) from worker_processes)`;
		await tx`
			update graphile_worker._private_job_queues set locked_at = null, locked_by = null
			where locked_by is not null and locked_at < now() - make_interval(secs => ${deadAfterSeconds})
				and locked_by not in (select unnest(worker_ids) from worker_processes)`;
	});
}
