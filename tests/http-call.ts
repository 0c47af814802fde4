/**
 * One tRPC call through the app's real HTTP path: the SvelteKit `handle` hook
 * (credentials from the cookie or the Bearer header), then the /api/trpc route, with a
 * minimal stand-in for SvelteKit's RequestEvent (as tests/foundation-http.test.ts does).
 */
import type { RequestEvent } from '@sveltejs/kit';
import superjson from 'superjson';
import { handle } from '../src/hooks.server';
import { GET, POST } from '../src/routes/api/trpc/[...trpc]/+server';
import { SESSION_COOKIE } from '../src/lib/server/auth/sessions';

export type Kind = 'query' | 'mutation' | 'subscription';
export type Creds = { cookie?: string; bearer?: string };

/** Without input, the call is invalid: a test of credentials sees whether auth comes first. */
export async function httpCall(path: string, type: Kind, creds: Creds, input?: unknown) {
	const url = `http://batchdesk.test/api/trpc/${path}`;
	const headers = new Headers({ 'content-type': 'application/json' });
	if (creds.bearer) headers.set('authorization', `Bearer ${creds.bearer}`);
	const json = JSON.stringify(superjson.serialize(input));
	const req =
		type === 'mutation'
			? new Request(url, { method: 'POST', headers, body: input === undefined ? '{}' : json })
			: new Request(input === undefined ? url : `${url}?input=${encodeURIComponent(json)}`, { headers });
	const jar = new Map<string, string>(creds.cookie ? [[SESSION_COOKIE, creds.cookie]] : []);
	const event = {
		request: req,
		url: new URL(url),
		locals: {},
		params: {},
		route: { id: '/api/trpc/[...trpc]' },
		platform: undefined,
		isDataRequest: false,
		isSubRequest: false,
		getClientAddress: () => '192.0.2.77',
		setHeaders: () => {},
		fetch,
		cookies: {
			get: (n: string) => jar.get(n),
			getAll: () => [...jar].map(([name, value]) => ({ name, value })),
			set: () => {},
			delete: () => {},
			serialize: () => ''
		}
	} as unknown as RequestEvent;
	const route = type === 'mutation' ? POST : GET;
	const res = (await handle({ event, resolve: (e) => route(e as never) as Promise<Response> })) as Response;
	const text = await res.text();
	let body: { result?: { data?: unknown }; error?: { json?: { data?: { code?: string } } } } = {};
	try {
		body = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return {
		status: res.status,
		code: body.error?.json?.data?.code ?? null,
		hasData: body.result !== undefined,
		data: body.result?.data === undefined ? undefined : superjson.deserialize(body.result.data as never)
	};
}

