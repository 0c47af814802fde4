import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { RequestHandler } from './$types';
import { appRouter } from '$lib/server/trpc/router';
import { httpContext } from '$lib/server/trpc/http-context';
import { readCapped } from '$lib/server/http/read-capped';

// server.js lifts adapter-node's global body limit for the streaming CSV upload, so the
// JSON API caps its own bodies. Bigger imports belong in the CSV upload (/api/imports).
const MAX_BODY_BYTES = Number(process.env.TRPC_MAX_BODY_BYTES ?? 16 * 1024 * 1024);

function tooLarge() {
	const message = `Request body over ${MAX_BODY_BYTES} bytes. Import large contact lists with the CSV upload (POST /api/imports).`;
	// The shape of a tRPC error, so typed clients surface the message.
	return Response.json(
		{ error: { json: { message, code: -32600, data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } } } },
		{ status: 413 }
	);
}

const handler: RequestHandler = async (event) => {
	let req = event.request;
	if (req.method === 'POST') {
		const body = await readCapped(req, MAX_BODY_BYTES);
		if (body === null) return tooLarge();
		req = new Request(req.url, { method: 'POST', headers: req.headers, body });
	}
	return fetchRequestHandler({
		endpoint: '/api/trpc',
		req,
		router: appRouter,
		createContext: () => httpContext(event),
		onError({ error, path }) {
			if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`tRPC ${path} failed:`, error.cause ?? error);
		}
	});
};

export const GET = handler;
export const POST = handler;
