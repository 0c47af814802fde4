import type { Task } from 'graphile-worker';
import { TASK, type TaskName } from '../../src/lib/server/jobs/payloads';
import { defineTask } from '../task';
import { echo } from './echo';
import { cleanup } from './cleanup';
import { bulkRun } from './bulk';
import { importRun } from './import';
import { sendSlice } from './send-slice';
import { receiptsParked } from './receipts';
import { undoRun } from './undo';
import { archivePurge } from './archive-purge';
import { ledgerRetention } from './ledger-retention';

/** Every task, by name (a task named in jobs/payloads.ts with no entry here does not compile). */
export const taskList: { [T in TaskName]: Task } = {
	[TASK.echo]: defineTask(TASK.echo, echo),
	[TASK.cleanup]: defineTask(TASK.cleanup, cleanup),
	[TASK.bulkRun]: defineTask(TASK.bulkRun, bulkRun),
	[TASK.importRun]: defineTask(TASK.importRun, importRun),
	[TASK.sendSlice]: defineTask(TASK.sendSlice, sendSlice),
	[TASK.receiptsParked]: defineTask(TASK.receiptsParked, receiptsParked),
	[TASK.undoRun]: defineTask(TASK.undoRun, undoRun),
	[TASK.archivePurge]: defineTask(TASK.archivePurge, archivePurge),
	[TASK.ledgerRetention]: defineTask(TASK.ledgerRetention, ledgerRetention)
};

/** graphile-worker crontab: minute resolution, so nothing timing-sensitive lives here. */
export const crontab = [
	`17 * * * * ${TASK.cleanup}`,
	// Once a day, off the hour; a missed run (worker down) is simply done the next day
	// (graphile-worker fires each tick once across all workers).
	`43 3 * * * ${TASK.archivePurge}`,
	`13 4 * * * ${TASK.ledgerRetention}`
].join('\n');
