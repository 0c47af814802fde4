import { runImport } from '../../src/lib/server/imports/run';
import { transitionBatch } from '../../src/lib/server/batches/repository';
import { enqueue } from '../../src/lib/server/jobs/enqueue';

/** How often a paused import checks whether it was resumed (resume does not enqueue imports). */
const PAUSED_RECHECK_MS = 3_000;
import type { TaskHandler } from '../task';

/**
 * Runs an IMPORT batch to its end. Each chunk commits on its own, so a retry (after
 * a crash or a worker shutdown) skips the chunks already committed (import_chunks). On the last
 * attempt an error fails the batch instead of leaving it PROCESSING forever.
 */
export const importRun: TaskHandler<'import:run'> = async ({ batchId, contacts }, helpers) => {
	try {
		const outcome = await runImport(batchId, { contacts, signal: helpers.abortSignal });
		helpers.logger.info(`import ${batchId}: ${outcome}`);
		if (outcome === 'paused') {
			await enqueue(
				'import:run',
				{ batchId, contacts },
				{ runAt: new Date(Date.now() + PAUSED_RECHECK_MS), jobKey: `import:${batchId}`, maxAttempts: 5 }
			);
		}
	} catch (e) {
		if (helpers.job.attempts >= helpers.job.max_attempts) {
			const message = e instanceof Error ? e.message : String(e);
			await transitionBatch(batchId, 'FAILED', { from: ['PENDING', 'PROCESSING'], error: `Import failed: ${message}` });
			return;
		}
		throw e;
	}
};
