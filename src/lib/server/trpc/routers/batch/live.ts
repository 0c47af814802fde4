import { z } from 'zod';
import { authedProcedure } from '../../init';
import { getBatchOrThrow } from '../../../batches/repository';
import { batchUpdates } from '../../../events/live';

const onUpdateInput = z.object({
	batchId: z.string().uuid('batchId must be a batch id (UUID)').optional(),
	/** Sent back by the tRPC client on reconnect (tracked() ids). */
	lastEventId: z.string().max(200).nullish()
});

export const batchLiveProcedures = {
	/**
	 * Streams { type: 'batch_update', data, timestamp } events for one batch or all.
	 * Any signed-in user (viewers included) may watch. The resolver is a plain async
	 * function, not a generator, so an unknown batchId is refused (NOT_FOUND) through
	 * the normal error mapping before the stream starts.
	 */
	onUpdate: authedProcedure.input(onUpdateInput).subscription(async ({ input, signal }) => {
		// Nothing is lost by checking first: the stream subscribes to the bus before it
		// reads its snapshot, and the snapshot carries any change made meanwhile.
		if (input.batchId) await getBatchOrThrow(input.batchId);
		// Already tracked() envelopes: returned as is (no re-wrapping layer per event).
		return batchUpdates({ batchId: input.batchId, lastEventId: input.lastEventId, signal });
	})
};
