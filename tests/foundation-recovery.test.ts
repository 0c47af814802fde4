/**
 * Dead-worker recovery with real worker processes: a worker killed with -9 while it
 * holds a job must have that job released and run again by a surviving worker, while
 * a job held by a live worker stays locked (and runs once) across recovery rounds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { sql } from '../src/lib/server/db/client';
import { enqueue } from '../src/lib/server/jobs/enqueue';
import { waitFor } from './helpers';

const DEAD_AFTER = 3;
const children: ChildProcess[] = [];

function spawnWorker(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
	let out = '';
	const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
		env: {
			...process.env,
			DATABASE_URL: process.env.DATABASE_URL,
			WORKER_DEAD_AFTER_SECONDS: String(DEAD_AFTER),
			WORKER_CONCURRENCY: '2'
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (out += d));
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	children.push(child);
	return { child, output: () => out, exited };
}

type JobRow = { id: string; locked_by: string | null; attempts: number };

async function job(message: string): Promise<JobRow | undefined> {
	const [row] = await sql()<JobRow[]>`
		select id::text, locked_by, attempts from graphile_worker._private_jobs
		where payload->>'message' = ${message}`;
	return row;
}

/** worker_processes id of the process whose recorded worker ids include lockedBy. */
async function processHolding(lockedBy: string): Promise<{ id: string; pid: number } | undefined> {
	const [row] = await sql()<{ id: string; pid: number }[]>`
		select id, pid from worker_processes where ${lockedBy} = any(worker_ids)`;
	return row;
}

afterAll(() => {
	for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('dead worker recovery', () => {
	it('releases a killed worker’s job to a live worker and never touches a live worker’s job', async () => {
		const a = spawnWorker();
		const b = spawnWorker();
		await waitFor(
			async () => (await sql()`select 1 from worker_processes`).length === 2,
			30_000
		).catch((e) => {
			throw new Error(`workers did not register: ${e}\n${a.output()}\n${b.output()}`);
		});

		// A job that runs long enough to be killed in the middle of it.
		await enqueue('system:echo', { message: 'victim', sleepMs: 3_000 });
		const locked = await waitFor(async () => {
			const j = await job('victim');
			return j?.locked_by ? j : undefined;
		});
		// The lock holder's id is one the process recorded: otherwise recovery could not find it.
		const holder = await processHolding(locked.locked_by!);
		expect(holder, `locked_by ${locked.locked_by} is not in worker_processes`).toBeDefined();
		const [victimProc, survivor] = holder!.pid === a.child.pid ? [a, b] : [b, a];
		expect(victimProc.child.pid).toBe(holder!.pid);

		victimProc.child.kill('SIGKILL');
		await victimProc.exited;
		const killedAt = Date.now();

		// The survivor takes a long job of its own, which must stay locked while it lives.
		await enqueue('system:echo', { message: 'live', sleepMs: 12_000 });
		const live = await waitFor(async () => {
			const j = await job('live');
			return j?.locked_by ? j : undefined;
		});
		const liveHolder = await processHolding(live.locked_by!);
		expect(liveHolder?.pid).toBe(survivor.child.pid);

		// The victim's job is released and completed (its row disappears) within the bound.
		await waitFor(async () => !(await job('victim')), 60_000, 200);
		expect(Date.now() - killedAt).toBeLessThan(60_000);
		// The dead process's registration is gone; the survivor's remains.
		const procs = await sql()<{ pid: number }[]>`select pid from worker_processes`;
		expect(procs.map((p) => p.pid)).toEqual([survivor.child.pid]);

		// Across several recovery rounds the live job keeps its lock and runs once.
		const beats = new Set<string>();
		const seen: JobRow[] = [];
		await waitFor(
			async () => {
				const j = await job('live');
				if (!j) return true;
				seen.push(j);
				const [p] = await sql()<{ t: string }[]>`select last_seen_at::text as t from worker_processes`;
				if (p) beats.add(p.t);
				return false;
			},
			40_000,
			200
		);
		expect(seen.length).toBeGreaterThan(0);
		expect(seen.filter((j) => j.locked_by !== live.locked_by || j.attempts !== 1)).toEqual([]);
		expect(beats.size).toBeGreaterThanOrEqual(3);
		// It finished successfully, not failed and retried.
		expect(await job('live')).toBeUndefined();

		// SIGTERM: graceful exit that deregisters the process.
		survivor.child.kill('SIGTERM');
		expect(await survivor.exited).toBe(0);
		expect((await sql()`select 1 from worker_processes`).length).toBe(0);
	}, 120_000);
});

describe('orphaned locks', () => {
	it('unlocks a job held by an unregistered worker id past the window, and no other', async () => {
		const { recoverDeadWorkers } = await import('../src/lib/server/jobs/recovery');
		// A judge that has beaten steadily for longer than any window.
		const steady = { nowMs: Date.now(), steadyMs: Number.POSITIVE_INFINITY };
		await enqueue('system:echo', { message: 'orphan' }, { runAt: new Date(Date.now() + 3600_000) });
		await enqueue('system:echo', { message: 'held-by-live' }, { runAt: new Date(Date.now() + 3600_000) });
		await enqueue('system:echo', { message: 'fresh-lock' }, { runAt: new Date(Date.now() + 3600_000) });
		await sql()`insert into worker_processes (id, worker_ids, pid, host) values ('live-proc', '{pool-live}', 1, 'test')`;
		const lock = (message: string, by: string, ago: string) => sql()`
			update graphile_worker._private_jobs set locked_by = ${by}, locked_at = now() - ${ago}::interval
			where payload->>'message' = ${message}`;
		await lock('orphan', 'pool-gone', '1 hour');
		await lock('held-by-live', 'pool-live', '1 hour');
		await lock('fresh-lock', 'pool-starting', '0 seconds');
		await recoverDeadWorkers(3600 * 24, [], steady, 5_000);
		expect((await job('orphan'))?.locked_by).toBe('pool-gone');
		await recoverDeadWorkers(30, [], steady, 5_000);
		expect((await job('orphan'))?.locked_by).toBeNull();
		expect((await job('held-by-live'))?.locked_by).toBe('pool-live');
		expect((await job('fresh-lock'))?.locked_by).toBe('pool-starting');
		await sql()`delete from worker_processes where id = 'live-proc'`;
	});
});
