import { startSendScheduler } from '../src/lib/server/send/scheduler';
import { startSending, stopSending } from '../src/lib/server/send/slice';
import { registerSendRecovery } from '../src/lib/server/send/recovery';
import type { Loop } from './loops';

/**
 * The send engine's part of a worker process: exact wake-ups of delayed slice jobs,
 * release of a dead worker's in-flight items, and on shutdown, telling running
 * slices to hand over (called before graphile-worker waits for its jobs).
 */
export function sendLoop(): Loop {
	registerSendRecovery();
	startSending();
	const scheduler = startSendScheduler();
	return {
		async stop() {
			stopSending();
			await scheduler.stop();
		}
	};
}
