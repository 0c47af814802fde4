import type { Task } from 'graphile-worker';
import { TASK, type TaskName } from '../../src/lib/server/jobs/payloads';
import { defineTask } from '../task';
import { echo } from './echo';
import { cleanup } from './cleanup';
import { bulkRun } from './bulk';
import { importRun } from './import';
import { sendSlice } from './send-slice';
import { receiptsParked } from './receipts';
import { ledgerRetention } from './ledger-retention';

/** Every task, by name (a task named in jobs/payloads.ts with no entry here does not compile). */
export const taskList: { [T in TaskName]: Task } = {
	[TASK.echo]: defineTask(TASK.echo, echo),
	[TASK.cleanup]: defineTask(TASK.cleanup, cleanup),
	[TASK.bulkRun]: defineTask(TASK.bulkRun, bulkRun),
	[TASK.importRun]: defineTask(TASK.importRun, importRun),
	[TASK.sendSlice]: defineTask(TASK.sendSlice, sendSlice),
	[TASK.receiptsParked]: defineTask(TASK.receiptsParked, receiptsParked),
	[TASK.ledgerRetention]: defineTask(TASK.ledgerRetention, ledgerRetention)
};

/** graphile-worker crontab: minute resolution, so nothing timing-sensitive lives here. */
export const crontab = [
	`17 * * * * ${TASK.cleanup}`,
	// Daily at 03:43 UTC, off-peak (graphile-worker fires each tick once across all workers).
	`43 3 * * * ${TASK.ledgerRetention}`
].join('\n');
