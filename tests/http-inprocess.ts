/**
 * A request through the app's real request path without a socket: the SvelteKit `handle`
 * hook (credentials, security headers) and the /api/trpc route (fetchRequestHandler,
 * batching, error formatting), with a minimal stand-in for SvelteKit's RequestEvent.
 */
import type { RequestEvent } from '@sveltejs/kit';
import superjson from 'superjson';
import { handle } from '../src/hooks.server';
import { GET, POST } from '../src/routes/api/trpc/[...trpc]/+server';
import { SESSION_COOKIE } from '../src/lib/server/auth/sessions';

export const BASE = 'http://batchdesk.test';

export type SetCookie = { name: string; value: string; opts: Record<string, unknown> };

/** The cookies the app set or deleted on the response are in setCookies (a delete has value ''). */
export async function trpcRequest(
	url: string,
	init: RequestInit & { cookie?: string; ip?: string } = {}
): Promise<{ res: Response; body: any; setCookies: SetCookie[] }> {
	const headers = new Headers(init.headers);
	if (init.cookie) headers.set('cookie', `${SESSION_COOKIE}=${init.cookie}`);
	const req = new Request(url, { ...init, headers });
	const jar = new Map<string, string>(init.cookie ? [[SESSION_COOKIE, init.cookie]] : []);
	const setCookies: SetCookie[] = [];
	const event = {
		request: req,
		url: new URL(url),
		locals: {},
		params: {},
		route: { id: '/api/trpc/[...trpc]' },
		platform: undefined,
		isDataRequest: false,
		isSubRequest: false,
		getClientAddress: () => init.ip ?? '192.0.2.10',
		setHeaders: () => {},
		fetch,
		cookies: {
			get: (n: string) => jar.get(n),
			getAll: () => [...jar].map(([name, value]) => ({ name, value })),
			set: (name: string, value: string, opts: Record<string, unknown>) => setCookies.push({ name, value, opts }),
			delete: (name: string, opts: Record<string, unknown>) => setCookies.push({ name, value: '', opts }),
			serialize: () => ''
		}
	} as unknown as RequestEvent;
	const route = req.method === 'GET' ? GET : POST;
	const res = (await handle({ event, resolve: (e) => route(e as never) as Promise<Response> })) as Response;
	const text = await res.text();
	let body: any = text;
	try {
		body = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return { res, body, setCookies };
}

/** A mutation (POST) or query (GET) of one procedure, its input superjson-encoded as the app's client sends it. */
export function call(kind: 'mutation' | 'query', path: string, input: unknown, opts: { cookie?: string; ip?: string } = {}) {
	const encoded = JSON.stringify(superjson.serialize(input));
	if (kind === 'query') return trpcRequest(`${BASE}/api/trpc/${path}?input=${encodeURIComponent(encoded)}`, opts);
	return trpcRequest(`${BASE}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: encoded, ...opts });
}
