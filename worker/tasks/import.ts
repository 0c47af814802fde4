import { failImportBatch, runImport } from '../../src/lib/server/imports/run';
import { enqueue } from '../../src/lib/server/jobs/enqueue';
import { TASK } from '../../src/lib/server/jobs/payloads';
import type { TaskSpec } from '../task';

/** How often a paused import checks whether it was resumed (resume does not enqueue imports). */
const PAUSED_RECHECK_MS = 3_000;

/**
 * Runs an IMPORT batch to its end. Each chunk commits on its own, so a retry (after
 * a crash or a worker shutdown) skips the chunks already committed (import_chunks).
 * Giving up fails the batch with "Import failed: …" (worker/task.ts).
 */
export const importRun: TaskSpec<'import:run'> = {
	async run({ batchId, contacts }, helpers) {
		const outcome = await runImport(batchId, { contacts, signal: helpers.abortSignal });
		helpers.logger.info(`import ${batchId}: ${outcome}`);
		if (outcome === 'paused') {
			await enqueue(
				TASK.importRun,
				{ batchId, contacts },
				{ runAt: new Date(Date.now() + PAUSED_RECHECK_MS), jobKey: `import:${batchId}`, maxAttempts: 5 }
			);
		}
	},
	onFinalFailure: failImportBatch
};
