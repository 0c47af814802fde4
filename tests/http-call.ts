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
	const json = JSON.stringify(superjson.serialize(input));
	const res = await send(
		type === 'mutation'
			? new Request(url, { method: 'POST', headers: headersOf(creds), body: input === undefined ? '{}' : json })
			: new Request(input === undefined ? url : `${url}?input=${encodeURIComponent(json)}`, { headers: headersOf(creds) }),
		type,
		creds
	);
	return { status: res.status, ...answerOf(await res.text()) };
}

/** The calls (all queries or all mutations, no input) as one batched request (`?batch=1`): one answer each. */
export async function httpBatch(paths: string[], type: 'query' | 'mutation', creds: Creds) {
	const url = `http://batchdesk.test/api/trpc/${paths.join(',')}?batch=1`;
	const res = await send(
		type === 'mutation' ? new Request(url, { method: 'POST', headers: headersOf(creds), body: '{}' }) : new Request(url, { headers: headersOf(creds) }),
		type,
		creds
	);
	const text = await res.text();
	let list: unknown[] = [];
	try {
		const parsed = JSON.parse(text);
		list = Array.isArray(parsed) ? parsed : [];
	} catch {
		/* not JSON */
	}
	return { status: res.status, answers: list.map((a) => answerOf(JSON.stringify(a))) };
}

function headersOf(creds: Creds) {
	const headers = new Headers({ 'content-type': 'application/json' });
	if (creds.bearer) headers.set('authorization', `Bearer ${creds.bearer}`);
	return headers;
}

async function send(req: Request, type: Kind, creds: Creds): Promise<Response> {
	const url = req.url;
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
	return (await handle({ event, resolve: (e) => route(e as never) as Promise<Response> })) as Response;
}

function answerOf(text: string) {
	let body: { result?: { data?: unknown }; error?: { json?: { data?: { code?: string } } } } = {};
	try {
		body = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return {
		code: body.error?.json?.data?.code ?? null,
		hasData: body.result !== undefined,
		data: body.result?.data === undefined ? undefined : superjson.deserialize(body.result.data as never)
	};
}

