import type { TaskList } from 'graphile-worker';
import { defineTask } from '../task';
import { echo } from './echo';
import { cleanup } from './cleanup';
import { bulkRun } from './bulk';
import { importRun } from './import';
import { sendSlice } from './send-slice';

/** Every task, by name. Feature tasks are added here, one line each. */
export const taskList: TaskList = {
	'system:echo': defineTask('system:echo', echo),
	'maintenance:cleanup': defineTask('maintenance:cleanup', cleanup),
	'bulk:run': defineTask('bulk:run', bulkRun),
	'import:run': defineTask('import:run', importRun),
	'send:slice': defineTask('send:slice', sendSlice)
};

/** graphile-worker crontab: minute resolution, so nothing timing-sensitive lives here. */
export const crontab = ['17 * * * * maintenance:cleanup'].join('\n');
