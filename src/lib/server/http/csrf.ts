/**
 * SvelteKit's form-origin check (csrf.checkOrigin), done here instead of by the
 * framework. The framework's check cannot exempt a path and refuses every form POST
 * without an Origin header, which is how Twilio posts its callbacks; svelte.config.js
 * therefore turns it off (trustedOrigins ['*']) and hooks.server.ts runs this one,
 * which is the same rule for every path but the provider callbacks (authenticated by
 * their signatures, receipts/service.ts).
 */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain', 'application/x-sveltekit-formdata'];
const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** Paths posted to by providers, not browsers. */
const SIGNED_CALLBACKS = '/api/receipts/';

/** The message SvelteKit answers with, when `request` is a cross-site form submission that must be refused. */
export function crossSiteFormRefusal(request: Request, url: URL): string | null {
	if (!UNSAFE.includes(request.method)) return null;
	const type = (request.headers.get('content-type') ?? '').split(';', 1)[0].trim().toLowerCase();
	if (!FORM_TYPES.includes(type)) return null;
	if (request.headers.get('origin') === url.origin) return null;
	if (url.pathname.startsWith(SIGNED_CALLBACKS)) return null;
	return `Cross-site ${request.method} form submissions are forbidden`;
}
