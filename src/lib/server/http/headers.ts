import { env } from '../env';

/**
 * Security headers of every response the app makes (pages, API routes, redirects and
 * refusals made in hooks.server.ts). Pages get their Content-Security-Policy from
 * SvelteKit (kit.csp in svelte.config.js, with a nonce for its own script); any other
 * response gets one that allows nothing, since no API answer is meant to be rendered.
 * Static files under /_app are served by adapter-node before the hooks run: server.js
 * gives them nosniff.
 */
const FIXED: Record<string, string> = {
	'x-content-type-options': 'nosniff',
	// frame-ancestors 'none' in the CSP; X-Frame-Options for browsers that predate it.
	'x-frame-options': 'DENY',
	// Page paths carry batch ids and filters: other sites get the origin at most.
	'referrer-policy': 'strict-origin-when-cross-origin'
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/**
 * A year, when ORIGIN is https. Not from the request's URL: without ORIGIN, adapter-node
 * reports every request as https (its default protocol), plain http included, and HSTS
 * sent for a host reached over http (a dev box, an IP) would pin browsers to https there.
 */
const HSTS = 'max-age=31536000; includeSubDomains';

export function withSecurityHeaders(response: Response): Response {
	const https = env().web.origin?.startsWith('https:') ?? false;
	let res = response;
	try {
		apply(res.headers, https);
	} catch {
		// Headers of a fetched or Response.redirect() response are immutable: copy it.
		res = new Response(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) });
		apply(res.headers, https);
	}
	return res;
}

function apply(h: Headers, https: boolean) {
	for (const [k, v] of Object.entries(FIXED)) h.set(k, v);
	if (!h.has('content-security-policy')) h.set('content-security-policy', API_CSP);
	if (https) h.set('strict-transport-security', HSTS);
}
