import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { text } from '@sveltejs/kit';
import { bearerFrom, resolveAuth } from '$lib/server/auth/resolve';
import { SESSION_COOKIE } from '$lib/server/auth/sessions';
import { setSessionCookie } from '$lib/server/trpc/http-context';
import { handleUpgrade, wsServer } from '$lib/server/trpc/ws';
import { exitOnInvalidEnv } from '$lib/server/env';
import { logger } from '$lib/server/log';
import { crossSiteFormRefusal } from '$lib/server/http/csrf';
import { withSecurityHeaders } from '$lib/server/http/headers';
import { errorRef } from '$lib/server/error-ref';
import { paraglideMiddleware } from '$lib/paraglide/server';

const log = logger.child({ module: 'web' });

export const init: ServerInit = async () => {
	// Every setting checked before the first request: a bad one exits naming the variable.
	const settings = exitOnInvalidEnv();
	// Created here so the production server.js finds it on globalThis at the first upgrade.
	wsServer();
	const g = globalThis as Record<string, unknown>;
	g.__batchdeskWsUpgrade = handleUpgrade;
	g.__batchdeskWsClose = () => wsServer().close();
	// server.js is plain JS outside the bundle: its address and logger come from here.
	g.__batchdeskWeb = { host: settings.web.host, port: settings.web.port, log };
};

/** Unexpected errors of pages and endpoints, through our logger (SvelteKit would console.error them). */
export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const ref = errorRef();
	log.error({ err: error, method: event.request.method, path: event.url.pathname, status, ref }, message);
	// The page shows the reference, never the error's own text.
	return { message: `${message} (ref ${ref})` };
};

// Pages anyone may open; every API route checks credentials itself (tRPC procedures, upload
// routes, provider callbacks under /api/receipts/ by their signatures).
const PUBLIC_PAGES = ['/login'];

export const handle: Handle = async ({ event, resolve }) => withSecurityHeaders(await guarded({ event, resolve }));

const guarded: Handle = async ({ event, resolve }) => {
	// Before anything reads the body or the session (svelte.config.js says why it is here).
	const refusal = crossSiteFormRefusal(event.request, event.url);
	if (refusal) return text(refusal, { status: 403 });
	const auth = await resolveAuth({
		sessionToken: event.cookies.get(SESSION_COOKIE) ?? null,
		bearer: bearerFrom(event.request.headers.get('authorization'))
	});
	event.locals.user = auth.user;
	event.locals.sessionToken = auth.sessionToken;
	if (auth.renewedUntil && auth.sessionToken) setSessionCookie(event, auth.sessionToken, auth.renewedUntil);
	const path = event.url.pathname;
	if (!auth.user && !path.startsWith('/api/') && !PUBLIC_PAGES.includes(path)) {
		const next = path === '/' ? '' : `?next=${encodeURIComponent(path + event.url.search)}`;
		// Returned rather than thrown, so it goes out with the security headers.
		return new Response(null, { status: 303, headers: { location: `/login${next}` } });
	}
	if (!auth.user && event.cookies.get(SESSION_COOKIE)) {
		// An expired or revoked session: drop the dead cookie.
		setSessionCookie(event, null);
	}
	if (path.startsWith('/api/')) return resolve(event);
	// The page's language: the switch's cookie, else Accept-Language, else English. The
	// original request goes on (no locale in URLs, so nothing to rewrite); the middleware
	// scopes getLocale() and the messages to this request.
	return paraglideMiddleware(chineseAsZhCN(event.request), ({ locale }) => {
		// The browser reads the cookie first when it hydrates: with the language chosen here
		// in it (for this browser session; the switch keeps its choice 400 days), a browser
		// whose languages it would read otherwise (zh-Hans) does not hydrate English text
		// over a Chinese page.
		if (!event.cookies.get(LOCALE_COOKIE)) {
			event.cookies.set(LOCALE_COOKIE, locale, { path: '/', httpOnly: false, sameSite: 'lax', secure: event.url.protocol === 'https:' });
		}
		return resolve(event, { transformPageChunk: ({ html }) => html.replace('%paraglide.lang%', locale) });
	});
};

const LOCALE_COOKIE = 'batchdesk_locale'; // paraglide.config.js cookieName

/**
 * For the language only: a request whose Accept-Language says zh in any form (zh, zh-Hans,
 * zh-Hans-CN, zh-SG, zh-TW) as zh-CN, the one Chinese the console has; paraglide matches
 * only zh-CN itself and would answer those browsers in English.
 */
function chineseAsZhCN(request: Request): Request {
	const header = request.headers.get('accept-language');
	if (!header || !/(^|,)\s*zh\b/i.test(header)) return request;
	return new Request(request.url, {
		headers: { ...Object.fromEntries(request.headers), 'accept-language': header.replace(/(^|,)(\s*)zh(-[\w-]+)?/gi, '$1$2zh-CN') }
	});
}
