import { runSendSlice } from '../../src/lib/server/send/slice';
import type { TaskHandler } from '../task';

/** One bounded step of a SEND batch; it enqueues its own continuation. */
export const sendSlice: TaskHandler<'send:slice'> = async (payload) => {
	await runSendSlice(payload.batchId, payload.lane, payload.spawn ?? false);
};
