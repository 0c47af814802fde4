import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { RequestHandler } from './$types';
import { appRouter } from '$lib/server/trpc/router';
import { httpContext } from '$lib/server/trpc/http-context';
import { readCapped } from '$lib/server/http/read-capped';
import { env } from '$lib/server/env';

// server.js lifts adapter-node's global body limit for the streaming CSV upload, so the
// JSON API caps its own bodies (TRPC_MAX_BODY_BYTES). Bigger imports belong in the CSV upload (/api/imports).

function tooLarge(max: number) {
	const message = `Request body over ${max} bytes. Import large contact lists with the CSV upload (POST /api/imports).`;
	// The shape of a tRPC error, so typed clients surface the message.
	return Response.json(
		{ error: { json: { message, code: -32600, data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } } } },
		{ status: 413 }
	);
}

const handler: RequestHandler = async (event) => {
	let req = event.request;
	if (req.method === 'POST') {
		const max = env().web.trpcMaxBodyBytes;
		const body = await readCapped(req, max);
		if (body === null) return tooLarge(max);
		req = new Request(req.url, { method: 'POST', headers: req.headers, body });
	}
	return fetchRequestHandler({
		endpoint: '/api/trpc',
		req,
		router: appRouter,
		// A batch runs its calls concurrently: capped, and auth.login refuses to be one of them (trpc/init.ts).
		maxBatchSize: env().web.trpcMaxBatchSize,
		createContext: ({ info }) => ({ ...httpContext(event), callsInRequest: info.calls.length })
		// Internal errors are logged by the error formatter (trpc/init.ts), with the reference the client gets.
	});
};

export const GET = handler;
export const POST = handler;
