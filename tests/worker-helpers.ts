import { afterAll, beforeAll } from 'vitest';
import { resetEnvCache } from '../src/lib/server/env';
import { startWorker, type WorkerHandle } from '../worker/index';

/**
 * A real worker for a test file, started once with `settings` applied to the
 * environment (read afresh: resetEnvCache) and stopped at the end.
 */
export function useWorker(settings: Record<string, string> = {}, opts: { concurrency?: number } = {}) {
	let worker: WorkerHandle | undefined;
	beforeAll(async () => {
		Object.assign(process.env, settings);
		resetEnvCache();
		worker = await startWorker({ concurrency: opts.concurrency ?? 2 });
	});
	afterAll(async () => {
		await worker?.stop();
	});
}
