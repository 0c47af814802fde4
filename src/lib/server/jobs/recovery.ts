import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql, transaction, type Tx } from '../db/client';
import { logger } from '../log';

/** This process's id in worker_processes and in ledger claims (items' claimed_by). */
export const WORKER_PROCESS_ID = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

const log = logger.child({ module: 'worker' });

/**
 * Releases, in the caller's transaction, what dead worker processes held (their claimed
 * items, …). It runs in the same transaction that unlocks their jobs and deletes their
 * rows, so a process is never forgotten while something it held is still held. What it
 * returns runs after the commit (live updates).
 */
export type DeadReleaser = (tx: Tx, deadProcessIds: string[]) => Promise<(() => Promise<void>) | void>;

let registered = false;
/** The database time of the first of this process's heartbeats since its last gap. */
let steadySinceMs: number | null = null;

export type Beat = { nowMs: number; steadyMs: number };

/**
 * Records that this process is alive (on the database's clock). A beat that follows a
 * gap (a failed beat, a blocked loop, an outage) starts a new steady period: a process
 * judges others dead only after it has itself beaten steadily for the dead-after
 * window, since during a gap of its own the others may have been just as cut off.
 */
export async function heartbeat(workerIds: string[], maxGapMs: number): Promise<Beat> {
	const [row] = await sql()<{ inserted: boolean; now_ms: number; prev_ms: number | null }[]>`
		with prev as (select last_seen_at from worker_processes where id = ${WORKER_PROCESS_ID})
		insert into worker_processes (id, worker_ids, pid, host, last_seen_at)
		values (${WORKER_PROCESS_ID}, ${workerIds}, ${process.pid}, ${os.hostname()}, now())
		on conflict (id) do update set worker_ids = excluded.worker_ids, last_seen_at = now()
		returning (xmax = 0) as inserted, (extract(epoch from now()) * 1000)::float8 as now_ms,
			(select (extract(epoch from last_seen_at) * 1000)::float8 from prev) as prev_ms`;
	if (registered && row.inserted) {
		// Our row was gone: another worker found no heartbeat for the dead-after window
		// (a blocked event loop, a paused VM) and released our jobs. Outcome writes are
		// made only for items this process still holds, so nothing is counted twice.
		log.error(
			{ workerProcessId: WORKER_PROCESS_ID },
			'this worker was presumed dead and its jobs released; raise WORKER_DEAD_AFTER_SECONDS if the event loop can block that long'
		);
	}
	registered = true;
	if (steadySinceMs === null || row.prev_ms === null || row.now_ms - row.prev_ms > maxGapMs) steadySinceMs = row.now_ms;
	return { nowMs: row.now_ms, steadyMs: row.now_ms - steadySinceMs };
}

/** A failed heartbeat: the next good one starts a new steady period. */
export function heartbeatGap() {
	steadySinceMs = null;
}

export async function deregister() {
	await sql()`delete from worker_processes where id = ${WORKER_PROCESS_ID}`;
}

function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * graphile-worker leaves a killed worker's jobs locked for 4 hours. A process is dead
 * when its heartbeat is older than `deadAfterSeconds` (judged only by a process that has
 * itself beaten steadily that long: `beat.steadyMs`), or at once when it ran on this
 * host, its pid is gone and it has missed a beat (`minSilentMs`). In ONE transaction,
 * per dead process: its jobs are unlocked, every releaser frees what it held, and its
 * row is deleted; rows are taken with SKIP LOCKED so two survivors never both do it.
 */
export async function recoverDeadWorkers(
	deadAfterSeconds: number,
	releasers: DeadReleaser[],
	beat: Beat,
	minSilentMs: number
): Promise<string[]> {
	const steady = beat.steadyMs >= deadAfterSeconds * 1000;
	if (steady) await unlockOrphans(deadAfterSeconds);
	const rows = await sql()<{ id: string; host: string; pid: number; silent_ms: number }[]>`
		select id, host, pid, (extract(epoch from now() - last_seen_at) * 1000)::float8 as silent_ms
		from worker_processes where id <> ${WORKER_PROCESS_ID}`;
	const host = os.hostname();
	const ids = rows
		.filter((r) => (steady && r.silent_ms > deadAfterSeconds * 1000) || (r.host === host && r.silent_ms > minSilentMs && !pidAlive(r.pid)))
		.map((r) => r.id);
	if (ids.length === 0) return [];
	const after: Array<() => Promise<void>> = [];
	const dead = await transaction(async (tx) => {
		const locked = await tx<{ id: string; worker_ids: string[] }[]>`
			select id, worker_ids from worker_processes where id = any(${ids}::text[]) for update skip locked`;
		if (locked.length === 0) return [];
		const deadIds = locked.map((r) => r.id);
		// Jobs first: a releaser that enqueues a job under the key of one the dead process
		// had locked then replaces it, rather than adding a second beside a locked one.
		await tx`select graphile_worker.force_unlock_workers(${locked.flatMap((r) => r.worker_ids)}::text[])`;
		for (const release of releasers) {
			const then = await release(tx, deadIds);
			if (then) after.push(then);
		}
		await tx`delete from worker_processes where id = any(${deadIds}::text[])`;
		return deadIds;
	});
	if (dead.length) log.warn({ dead }, 'released the work of dead worker processes');
	for (const fn of after) await fn().catch((e) => log.warn({ err: e }, 'after releasing a dead worker'));
	return dead;
}

/**
 * Unlocks the jobs of this process's own graphile-worker ids that no longer run (a
 * runner stopped after losing the database: completions it could not write leave its
 * jobs locked by ids nobody uses any more).
 */
export async function unlockOwnJobs(workerIds: string[]) {
	if (workerIds.length === 0) return;
	await sql()`select graphile_worker.force_unlock_workers(${workerIds}::text[])`;
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
