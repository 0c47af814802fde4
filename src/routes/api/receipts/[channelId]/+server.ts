import type { RequestHandler } from './$types';
import { readCapped } from '$lib/server/http/read-capped';
import { RECEIPT_MAX_BYTES, receiptGet, receiptPost } from '$lib/server/receipts/service';
import type { Reply } from '$lib/server/receipts/types';

/**
 * Delivery receipts and inbound messages from providers (receipts/service.ts). Public:
 * no session or token, each request is authenticated by the provider's signature
 * with the channel's secret instead (hooks.server.ts lets /api/ through and skips
 * its form-origin check for this path only).
 */
const respond = (r: Reply) => new Response(r.body, { status: r.status, headers: { 'content-type': r.contentType } });

export const GET: RequestHandler = async ({ params, url }) => respond(await receiptGet(params.channelId, url.searchParams));

export const POST: RequestHandler = async ({ params, url, request }) =>
	respond(
		await receiptPost(params.channelId, {
			pathAndQuery: url.pathname + url.search,
			signature: (header) => request.headers.get(header),
			body: await readCapped(request, RECEIPT_MAX_BYTES)
		})
	);
