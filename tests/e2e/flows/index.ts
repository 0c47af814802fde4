/** Every flow of the console's end-to-end run, in the order they run (later ones use what earlier ones made). */
import type { Flow } from '../harness';
import { authFlows } from './auth';
import { settingsFlows } from './settings';
import { importFlows } from './import';
import { contactsFlows } from './contacts';
import { sendFlows } from './send';
import { bulkFlows } from './bulk';
import { historyFlows } from './history';
import { roleFlows } from './roles';
import { earlyFlows, middleFlows, lateFlows } from './more';
import { extraFlows } from './extra';

export const FLOWS: Flow[] = [
	...earlyFlows,
	...authFlows,
	...settingsFlows,
	...importFlows,
	...contactsFlows,
	...sendFlows,
	...bulkFlows,
	...middleFlows,
	...historyFlows,
	...extraFlows,
	...roleFlows,
	...lateFlows
];
