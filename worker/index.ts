import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { databaseUrl } from '../src/lib/server/db/url';
import { closeDb, isConnectionError, surviveConnectionLoss } from '../src/lib/server/db/client';
import { graphileLogger } from '../src/lib/server/jobs/graphile-logger';
import { env, exitOnInvalidEnv } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import {
	deregister,
	heartbeat,
	heartbeatGap,
	recoverDeadWorkers,
	unlockOwnJobs,
	WORKER_PROCESS_ID,
	type DeadReleaser
} from '../src/lib/server/jobs/recovery';
import { releaseDeadClaims } from '../src/lib/server/send/recovery';
import { startSending, stopSending } from '../src/lib/server/send/slice';
import { settleAllClaims, sweepOwnClaims } from '../src/lib/server/send/claims';
import { crontab, taskList } from './tasks';
import { backgroundLoops } from './loops';

/** Beat at least three times per dead-after window, so a live worker never looks dead. */
function heartbeatMs(deadAfterSeconds: number) {
	return Math.max(250, Math.min(5_000, Math.floor((deadAfterSeconds * 1000) / 3)));
}

/**
 * Everything a dead worker process may hold, released in the transaction that forgets
 * it (jobs/recovery.ts). Import chunks and bulk cursors are committed progress of a job,
 * not claims: unlocking the job hands them to whoever runs it next. Listed here, not
 * registered by a loop, so no heartbeat can ever run recovery without them.
 */
const RELEASERS: DeadReleaser[] = [releaseDeadClaims];

/** How long a graphile-worker runner that lost the database gets to finish its jobs. */
const RUNNER_STOP_MS = 15_000;

const log = logger.child({ module: 'worker' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type WorkerHandle = { stop(): Promise<void>; runner: Runner };

/**
 * Runs graphile-worker with our tasks, a heartbeat that lets other workers detect this
 * one dying, and the recovery of workers that did die. Returns a handle to stop it.
 *
 * A database outage is survived: graphile-worker's runner is restarted in this process
 * once the database answers again (a runner that lost its connection may hold jobs
 * whose completion it could not write, or have shut itself down), and the jobs its old
 * ids hold are unlocked then.
 */
export async function startWorker(opts: { concurrency?: number } = {}): Promise<WorkerHandle> {
	const deadAfter = env().worker.deadAfterSeconds;
	const beatMs = heartbeatMs(deadAfter);
	/** graphile-worker ids of the current runner, and of stopped ones whose jobs are not unlocked yet. */
	let currentIds = new Set<string>();
	const formerIds = new Set<string>();
	let stopped = false;
	/** Set when a database connection was lost in a way the runner may not recover from. */
	let suspect = false;

	const startRunner = async (): Promise<Runner> => {
		const ids = new Set<string>();
		// Subscribe BEFORE run(): the pool (whose id locks jobs when localQueue is on) and its
		// workers are created, and their events emitted, before run() resolves.
		const events = new EventEmitter() as WorkerEvents;
		events.on('pool:create', ({ workerPool }) => ids.add(workerPool.id));
		events.on('worker:create', ({ worker }) => ids.add(worker.workerId));
		currentIds = ids;
		const r = await run({
			events,
			connectionString: databaseUrl(),
			concurrency: opts.concurrency ?? env().worker.concurrency,
			noHandleSignals: true,
			pollInterval: 1000,
			taskList,
			crontab,
			logger: graphileLogger(),
			preset: { worker: { localQueue: { size: 50 } } }
		});
		r.promise.then(
			() => {
				if (!stopped && runner === r) suspect = true;
			},
			(e) => {
				if (stopped) return;
				log.warn({ err: e }, 'graphile-worker stopped on an error; restarting it when the database answers');
				if (runner === r) suspect = true;
			}
		);
		return r;
	};
	/** Retries until the database answers (a worker started during an outage waits for it). */
	const startRunnerPatiently = async (): Promise<Runner> => {
		for (let attempt = 0; ; attempt++) {
			try {
				return await startRunner();
			} catch (e) {
				if (!isConnectionError(e) || stopped) throw e;
				const wait = Math.min(500 * 2 ** attempt, 5_000);
				log.warn({ err: e, retryInMs: wait }, 'database unreachable; waiting for it to start the job runner');
				await sleep(wait);
			}
		}
	};

	let runner = await startRunnerPatiently();

	let restarting: Promise<void> | undefined;
	const restartRunner = () =>
		(restarting ??= (async () => {
			suspect = false;
			const old = runner;
			for (const id of currentIds) formerIds.add(id);
			log.warn('restarting the job runner after a lost database connection');
			// Sends hand over quickly; whatever the old runner still runs gets this long.
			stopSending();
			const ended = await Promise.race([old.stop().then(() => true, () => true), sleep(RUNNER_STOP_MS).then(() => false)]);
			if (stopped) return;
			// No job of the old runner runs any more: claims this process still holds are
			// ones whose outcome could not be written while the database was away (settled as
			// a dead worker's are; an answer that still comes is written only under its own
			// claim, send/outcomes.ts), or whose claim's reply was lost (never sent: pending).
			if (ended) await settleAllClaims();
			startSending();
			runner = await startRunnerPatiently();
			// The old runner's ids run nothing any more: whatever they still lock (completions
			// lost with the connection) is free for the new runner.
			await unlockOwnJobs([...formerIds]);
			formerIds.clear();
			log.info('job runner restarted');
		})()
			.catch((e) => {
				suspect = true;
				log.warn({ err: e }, 'job runner restart failed; trying again at the next heartbeat');
			})
			.finally(() => {
				restarting = undefined;
			}));

	const onLost = (reason: unknown) => {
		if (isConnectionError(reason)) suspect = true;
	};
	process.on('unhandledRejection', onLost);

	const beat = async () => {
		try {
			const b = await heartbeat([...currentIds, ...formerIds], beatMs * 2 + 1_000);
			if (suspect && !restarting) void restartRunner();
			await recoverDeadWorkers(deadAfter, RELEASERS, b, beatMs + 1_000);
			// Claims this process lost track of (a reply lost with the connection): see send/claims.ts.
			await sweepOwnClaims();
		} catch (e) {
			heartbeatGap();
			// The runner may have lost completions too: it is restarted once the database answers.
			if (isConnectionError(e)) suspect = true;
			if (isConnectionError(e)) log.warn({ err: e }, 'heartbeat failed: database unreachable');
			else log.error({ err: e }, 'heartbeat failed');
		}
	};
	await beat();
	let beating = false;
	const timer = setInterval(() => {
		// A heartbeat stuck on a dead connection must not pile up others behind it.
		if (beating) return;
		beating = true;
		void beat().finally(() => (beating = false));
	}, beatMs);
	const loops = backgroundLoops.map((start) => start());

	let stopping: Promise<void> | undefined;
	const stop = () =>
		(stopping ??= (async () => {
			clearInterval(timer);
			for (const l of loops) await l.stop();
			await restarting;
			stopped = true;
			process.off('unhandledRejection', onLost);
			// Waits for running jobs (in-flight sends) to finish; new jobs are not taken.
			await runner.stop();
			await deregister().catch(() => {});
		})());
	return {
		get runner() {
			return runner;
		},
		stop
	};
}

async function main() {
	// Every setting checked before anything starts: a bad one exits naming the variable.
	exitOnInvalidEnv();
	// A lost database is an outage to wait out, not a reason to exit (see startWorker).
	surviveConnectionLoss(log);
	const worker = await startWorker();
	log.info({ workerProcessId: WORKER_PROCESS_ID, concurrency: env().worker.concurrency }, 'running');
	const shutdown = async (signal: string) => {
		log.info({ signal }, 'finishing in-flight jobs');
		const force = setTimeout(() => process.exit(1), 9_000);
		force.unref();
		await worker.stop();
		await closeDb();
		process.exit(0);
	};
	process.once('SIGTERM', () => void shutdown('SIGTERM'));
	process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	main().catch((e) => {
		log.fatal({ err: e }, 'failed to start');
		process.exit(1);
	});
}

