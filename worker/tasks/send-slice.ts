import { cancelPendingAsFailed, runSendSlice } from '../../src/lib/server/send/slice';
import type { TaskSpec } from '../task';

/** One bounded step of a SEND batch; it enqueues its own continuation. */
export const sendSlice: TaskSpec<'send:slice'> = {
	async run(payload) {
		await runSendSlice(payload.batchId, payload.lane, payload.spawn ?? false);
	},
	onFinalFailure: cancelPendingAsFailed
};
