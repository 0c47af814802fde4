/**
 * One tRPC call, or one batched request, through the app's real HTTP path (the SvelteKit
 * `handle` hook, then the /api/trpc route: tests/http-inprocess.ts), with the
 * credentials a test names, answering with the tRPC error code and whether data came back.
 */
import superjson from 'superjson';
import { BASE, trpcRequest } from './http-inprocess';

export type Kind = 'query' | 'mutation' | 'subscription';
export type Creds = { cookie?: string; bearer?: string };

const request = (url: string, type: 'query' | 'mutation', creds: Creds, body?: string) =>
	trpcRequest(url, {
		method: type === 'mutation' ? 'POST' : 'GET',
		headers: { 'content-type': 'application/json', ...(creds.bearer ? { authorization: `Bearer ${creds.bearer}` } : {}) },
		body: type === 'mutation' ? (body ?? '{}') : undefined,
		cookie: creds.cookie,
		ip: '192.0.2.77'
	});

/** Without input, the call is invalid: a test of credentials sees whether auth comes first. */
export async function httpCall(path: string, type: Kind, creds: Creds, input?: unknown) {
	const url = `${BASE}/api/trpc/${path}`;
	const json = JSON.stringify(superjson.serialize(input));
	const { res, body } =
		type === 'mutation'
			? await request(url, 'mutation', creds, input === undefined ? '{}' : json)
			: await request(input === undefined ? url : `${url}?input=${encodeURIComponent(json)}`, 'query', creds);
	return { status: res.status, ...answerOf(body) };
}

/** The calls (all queries or all mutations, no input) as one batched request (`?batch=1`): one answer each. */
export async function httpBatch(paths: string[], type: 'query' | 'mutation', creds: Creds) {
	const { res, body } = await request(`${BASE}/api/trpc/${paths.join(',')}?batch=1`, type, creds);
	return { status: res.status, answers: (Array.isArray(body) ? body : []).map(answerOf) };
}

function answerOf(body: unknown) {
	const b = (typeof body === 'object' && body !== null ? body : {}) as {
		result?: { data?: unknown };
		error?: { json?: { data?: { code?: string } } };
	};
	return {
		code: b.error?.json?.data?.code ?? null,
		hasData: b.result !== undefined,
		data: b.result?.data === undefined ? undefined : superjson.deserialize(b.result.data as never)
	};
}
