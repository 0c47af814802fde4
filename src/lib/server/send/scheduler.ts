import { sql } from '../db/client';
import { TASK } from '../jobs/payloads';
import { enqueueSlice, parseSliceJobKey } from './jobs';
import { runSendSlice, setHandOverWakeUp } from './slice';
import { env } from '../env';
import { logger } from '../log';

/**
 * Exact starts for delayed send jobs. graphile-worker finds a job whose run_at has
 * come by polling, and a busy worker's local queue can leave a woken job waiting for
 * a second or more, which would start a scheduled batch (or a paced batch's next
 * slice) late. So this loop looks 2 s ahead at the delayed slice jobs and, when one's
 * run_at comes, takes the job over: it removes it (only if no worker has locked it,
 * so exactly one process wins), leaves a safety-net job 30 s later under the same key
 * (should this process die), and runs the slice itself. The slice re-checks the time
 * on the database before it sends, so nothing starts early.
 */
const LOOKAHEAD_MS = 2_000;
const POLL_MS = 250;
const SAFETY_NET_MS = 30_000;
const log = logger.child({ module: 'send-scheduler' });

export function startSendScheduler(): { stop(): Promise<void> } {
	const timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
	const direct = new Set<Promise<void>>();
	let stopped = false;

	const fire = async (key: string) => {
		timers.delete(key);
		if (stopped) return;
		const parsed = parseSliceJobKey(key);
		if (!parsed) return;
		const [taken] = await sql()<{ id: string | null; locked_at: Date | null; queue_name: string | null }[]>`
			select r.id, r.locked_at, j.queue_name from graphile_worker.jobs j, lateral graphile_worker.remove_job(j.key) r
			where j.key = ${key} and j.locked_at is null and j.attempts < j.max_attempts
				-- The due job only: not the safety net another process left after taking it.
				and j.run_at <= clock_timestamp() + interval '200 milliseconds'`;
		if (!taken?.id || taken.locked_at !== null) return; // a worker (or the other process) has it
		if (env().send.trace) log.info({ key }, 'direct run');
		const batch = { id: parsed.batchId, ratePerMinute: taken.queue_name ? 1 : null };
		await enqueueSlice(batch, { lane: parsed.lane, runAt: new Date(Date.now() + SAFETY_NET_MS), spawn: true });
		const run = runSendSlice(parsed.batchId, parsed.lane, true)
			.catch((err) => log.error({ err, key }, 'slice failed (the safety-net job retries)'))
			.finally(() => direct.delete(run));
		direct.add(run);
	};

	const tick = async () => {
		const rows = await sql()<{ key: string; in_ms: number }[]>`
			select key, (extract(epoch from (run_at - clock_timestamp())) * 1000)::float8 as in_ms
			from graphile_worker.jobs
			where task_identifier = ${TASK.sendSlice} and locked_at is null and key is not null
				-- A job that failed for good keeps its key and row: it is a record, not a wake-up.
				and attempts < max_attempts
				and run_at > now() and run_at <= now() + make_interval(secs => ${LOOKAHEAD_MS / 1000}::float8)`;
		for (const r of rows) arm(r.key, r.in_ms);
	};

	const arm = (key: string, inMs: number) => {
		if (stopped) return;
		const at = Date.now() + inMs;
		const t = timers.get(key);
		if (t && Math.abs(t.at - at) < 2) return;
		if (t) clearTimeout(t.timer);
		const timer = setTimeout(() => void fire(key).catch((err) => log.error({ err, key }, 'wake-up failed')), Math.max(0, inMs));
		timers.set(key, { at, timer });
	};
	// A paced job handing over with its next send moments away arms the wake-up at
	// once: the 250 ms look-ahead would often miss it, and graphile's poll finds it ~1 s
	// late, which pacing no longer makes up.
	setHandOverWakeUp(arm);

	const loop = async () => {
		while (!stopped) {
			try {
				await tick();
			} catch (e) {
				if (!stopped) log.error({ err: e }, 'tick failed');
			}
			await new Promise((r) => setTimeout(r, POLL_MS));
		}
	};
	const running = loop();
	return {
		/** Call after stopSending(): direct runs hand over and return. */
		async stop() {
			stopped = true;
			setHandOverWakeUp(null);
			for (const t of timers.values()) clearTimeout(t.timer);
			timers.clear();
			await running;
			await Promise.allSettled([...direct]);
		}
	};
}
