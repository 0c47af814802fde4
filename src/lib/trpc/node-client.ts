import superjson from 'superjson';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import { WebSocket } from 'ws';
import type { AppRouter } from '../server/trpc/router';

/**
 * A typed client for Node scripts, authenticated with an API token
 * (create one under Settings → API tokens).
 *
 *   const bd = createBatchdeskClient({ url: 'http://localhost:3000', token: myToken });
 *   const batch = await bd.client.batch.send.mutate({ ... });
 */
export function createBatchdeskClient(opts: { url: string; token: string }) {
	const base = opts.url.replace(/\/$/, '');
	const ws = createWSClient({
		url: `${base.replace(/^http/, 'ws')}/api/trpc-ws`,
		// Node 20 has no global WebSocket. tRPC's option is typed as the browser's class; ws's
		// type differs only where tRPC does not care (no dispatchEvent; binaryType also allows
		// 'nodebuffer', tRPC sets 'arraybuffer'), so this one adapter says it is that class.
		WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
		connectionParams: async () => ({ token: opts.token }),
		lazy: { enabled: true, closeMs: 5_000 }
	});
	const client = createTRPCClient<AppRouter>({
		links: [
			splitLink({
				condition: (op) => op.type === 'subscription',
				true: wsLink({ client: ws, transformer: superjson }),
				false: httpBatchLink({
					url: `${base}/api/trpc`,
					transformer: superjson,
					// The server refuses batches over TRPC_MAX_BATCH_SIZE (default 20).
					maxItems: 10,
					headers: () => ({ authorization: `Bearer ${opts.token}` })
				})
			})
		]
	});
	return { client, close: () => ws.close() };
}
