import { sql } from '../db/client';
import { parseSliceJobKey, SEND_TASK } from './send-jobs';

/**
 * Exact starts for delayed send jobs. graphile-worker finds a job whose run_at has
 * come by polling (1 s here), which could start a scheduled batch or a paced batch's
 * next slice up to a second late. This loop looks 2 s ahead at the delayed slice jobs,
 * and when one's run_at comes (database clock) makes it runnable now (add_job with
 * the same job key), which notifies the workers at once. Never early: the slice
 * itself re-checks the time on the database before it starts.
 */
const LOOKAHEAD_MS = 2_000;
const POLL_MS = 250;

export function startSendScheduler(): { stop(): Promise<void> } {
	const timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
	let stopped = false;
	let running: Promise<void> = Promise.resolve();

	const fire = async (key: string, queue: string | null) => {
		timers.delete(key);
		if (stopped) return;
		const parsed = parseSliceJobKey(key);
		if (!parsed) return;
		// Only a job still waiting is moved; one already taken by a worker is left alone.
		await sql()`
			select graphile_worker.add_job(${SEND_TASK}::text,
				json_build_object('batchId', ${parsed.batchId}::text, 'lane', ${parsed.lane}::int, 'spawn', false),
				queue_name => ${queue}::text, job_key => ${key}::text, run_at => now(), max_attempts => 25)
			from graphile_worker.jobs j
			where j.key = ${key} and j.locked_at is null`.catch((e) => {
			console.error('[send-scheduler] wake-up failed:', e);
		});
	};

	const tick = async () => {
		const rows = await sql()<{ key: string; queue_name: string | null; in_ms: number }[]>`
			select key, queue_name, (extract(epoch from (run_at - clock_timestamp())) * 1000)::float8 as in_ms
			from graphile_worker.jobs
			where task_identifier = ${SEND_TASK} and locked_at is null and key is not null
				and run_at > now() and run_at <= now() + make_interval(secs => ${LOOKAHEAD_MS / 1000}::float8)`;
		const now = Date.now();
		for (const r of rows) {
			const at = now + r.in_ms;
			const t = timers.get(r.key);
			if (t && Math.abs(t.at - at) < 2) continue;
			if (t) clearTimeout(t.timer);
			timers.set(r.key, { at, timer: setTimeout(() => void fire(r.key, r.queue_name), Math.max(0, r.in_ms)) });
		}
	};

	const loop = async () => {
		while (!stopped) {
			try {
				await tick();
			} catch (e) {
				if (!stopped) console.error('[send-scheduler] tick failed:', e);
			}
			await new Promise((r) => setTimeout(r, POLL_MS));
		}
	};
	running = loop();
	return {
		async stop() {
			stopped = true;
			for (const t of timers.values()) clearTimeout(t.timer);
			timers.clear();
			await running;
		}
	};
}
