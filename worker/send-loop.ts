import { startSendScheduler } from '../src/lib/server/send/scheduler';
import { startSending, stopSending } from '../src/lib/server/send/slice';
import type { Loop } from './loops';

/**
 * The send engine's part of a worker process: exact wake-ups of delayed slice jobs,
 * and on shutdown, telling running
 * slices to hand over (called before graphile-worker waits for its jobs).
 */
export function sendLoop(): Loop {
	startSending();
	const scheduler = startSendScheduler();
	return {
		async stop() {
			stopSending();
			await scheduler.stop();
		}
	};
}
