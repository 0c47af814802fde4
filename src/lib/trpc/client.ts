import superjson from 'superjson';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from '@trpc/client';
import type { AppRouter } from '$lib/server/trpc/router';

let wsClient: ReturnType<typeof createWSClient> | undefined;
const listeners = new Set<(open: boolean) => void>();
let socketOpen = false;

/** Lets the UI say when live updates are down and it is polling instead. */
export function onSocketState(fn: (open: boolean) => void) {
	listeners.add(fn);
	fn(socketOpen);
	return () => listeners.delete(fn);
}

function setOpen(open: boolean) {
	socketOpen = open;
	for (const fn of listeners) fn(open);
}

function makeClient() {
	const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/trpc-ws`;
	wsClient = createWSClient({
		url: wsUrl,
		lazy: { enabled: true, closeMs: 10_000 },
		onOpen: () => setOpen(true),
		onClose: () => setOpen(false)
	});
	return createTRPCClient<AppRouter>({
		links: [
			splitLink({
				condition: (op) => op.type === 'subscription',
				true: wsLink({ client: wsClient, transformer: superjson }),
				false: httpBatchLink({ url: '/api/trpc', transformer: superjson, maxItems: 10 })
			})
		]
	});
}

let client: ReturnType<typeof makeClient> | undefined;

/** The browser's typed client: HTTP for queries and mutations, ws for subscriptions (cookie auth). */
export function trpc() {
	client ??= makeClient();
	return client;
}
