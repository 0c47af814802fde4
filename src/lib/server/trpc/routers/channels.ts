import { z } from 'zod';
import { adminProcedure, authedProcedure, router } from '../init';
import { channelCreate, channelUpdate, createChannel, deleteChannel, listChannels, updateChannel } from '../../channels/service';

export const channelsRouter = router({
	/** Every signed-in user may pick a channel; secrets are never in the answer. */
	list: authedProcedure.query(() => listChannels()),
	create: adminProcedure.input(channelCreate).mutation(({ input, ctx }) => createChannel(input, ctx)),
	update: adminProcedure.input(channelUpdate).mutation(({ input, ctx }) => updateChannel(input, ctx)),
	delete: adminProcedure.input(z.object({ id: z.string().min(1).max(40) })).mutation(({ input, ctx }) => deleteChannel(input.id, ctx))
});
