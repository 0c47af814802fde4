import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql } from '../db/client';

/** This process's id in worker_processes and in ledger claims (items' claimed_by). */
export const WORKER_PROCESS_ID = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

type DeadHandler = (deadProcessIds: string[]) => Promise<void>;
const deadHandlers: DeadHandler[] = [];

/** Features register what to release when a worker process is found dead (e.g. claimed items). */
export function onDeadWorkers(fn: DeadHandler) {
	deadHandlers.push(fn);
}

export async function heartbeat(workerIds: string[]) {
	await sql()`
		insert into worker_processes (id, worker_ids, pid, host, last_seen_at)
		values (${WORKER_PROCESS_ID}, ${workerIds}, ${process.pid}, ${os.hostname()}, now())
		on conflict (id) do update set worker_ids = excluded.worker_ids, last_seen_at = now()`;
}

export async function deregister() {
	await sql()`delete from worker_processes where id = ${WORKER_PROCESS_ID}`;
}

/**
 * graphile-worker leaves a killed worker's jobs locked for 4 hours. A process whose
 * heartbeat is older than `deadAfterSeconds` is dead (live ones beat every few
 * seconds): unlock its jobs and let features release what it held. Rows are taken
 * with SKIP LOCKED so two surviving workers do not both handle one dead worker.
 */
export async function recoverDeadWorkers(deadAfterSeconds: number): Promise<string[]> {
	const dead = await sql().begin(async (tx) => {
		const rows = await tx<{ id: string; worker_ids: string[] }[]>`
			select id, worker_ids from worker_processes
			where last_seen_at < now() - make_interval(secs => ${deadAfterSeconds})
			for update skip locked`;
		if (rows.length === 0) return [];
		const workerIds = rows.flatMap((r) => r.worker_ids);
		await tx`select graphile_worker.force_unlock_workers(${workerIds}::text[])`;
		await tx`delete from worker_processes where id = any(${rows.map((r) => r.id)}::text[])`;
		return rows.map((r) => r.id);
	});
	if (dead.length) for (const fn of deadHandlers) await fn(dead);
	return dead;
}
