import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { databaseUrl } from '../src/lib/server/db/url';
import { closeDb } from '../src/lib/server/db/client';
import { graphileLogger } from '../src/lib/server/jobs/graphile-logger';
import { env, exitOnInvalidEnv } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import { deregister, heartbeat, recoverDeadWorkers, WORKER_PROCESS_ID } from '../src/lib/server/jobs/recovery';
import { crontab, taskList } from './tasks';
import { backgroundLoops } from './loops';

/** Beat at least three times per dead-after window, so a live worker never looks dead. */
function heartbeatMs(deadAfterSeconds: number) {
	return Math.max(250, Math.min(5_000, Math.floor((deadAfterSeconds * 1000) / 3)));
}

const log = logger.child({ module: 'worker' });

export type WorkerHandle = { stop(): Promise<void>; runner: Runner };

/**
 * Runs graphile-worker with our tasks, a heartbeat that lets other workers detect this
 * one dying, and the recovery of workers that did die. Returns a handle to stop it.
 */
export async function startWorker(opts: { concurrency?: number } = {}): Promise<WorkerHandle> {
	const deadAfter = env().worker.deadAfterSeconds;
	const workerIds = new Set<string>();
	// Subscribe BEFORE run(): the pool (whose id locks jobs when localQueue is on) and its
	// workers are created, and their events emitted, before run() resolves.
	const events = new EventEmitter() as WorkerEvents;
	events.on('pool:create', ({ workerPool }) => workerIds.add(workerPool.id));
	events.on('worker:create', ({ worker }) => workerIds.add(worker.workerId));
	const runner = await run({
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

	const beat = async () => {
		try {
			await heartbeat([...workerIds]);
			await recoverDeadWorkers(deadAfter);
		} catch (e) {
			log.error({ err: e }, 'heartbeat failed');
		}
	};
	await beat();
	const timer = setInterval(beat, heartbeatMs(deadAfter));
	const loops = backgroundLoops.map((start) => start());

	let stopping: Promise<void> | undefined;
	const stop = () =>
		(stopping ??= (async () => {
			clearInterval(timer);
			for (const l of loops) await l.stop();
			// Waits for running jobs (in-flight sends) to finish; new jobs are not taken.
			await runner.stop();
			await deregister().catch(() => {});
		})());
	return { runner, stop };
}

async function main() {
	// Every setting checked before anything starts: a bad one exits naming the variable.
	exitOnInvalidEnv();
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
