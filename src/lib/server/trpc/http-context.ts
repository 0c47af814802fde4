import type { RequestEvent } from '@sveltejs/kit';
import type { Context } from './context';
import { SESSION_COOKIE } from '../auth/sessions';

/** Session cookie: HttpOnly, SameSite=Lax, Secure when served over https. */
export function setSessionCookie(event: RequestEvent, token: string | null, expiresAt?: Date) {
	const secure = event.url.protocol === 'https:';
	if (token) {
		event.cookies.set(SESSION_COOKIE, token, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure,
			expires: expiresAt
		});
	} else {
		event.cookies.delete(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure });
	}
}

export function httpContext(event: RequestEvent): Context {
	return {
		user: event.locals.user,
		sessionToken: event.locals.sessionToken,
		ip: clientIp(event),
		userAgent: event.request.headers.get('user-agent'),
		setCookie: (token, expiresAt) => setSessionCookie(event, token, expiresAt)
	};
}

/** The client's address as the adapter sees it (ADDRESS_HEADER behind a proxy), or 'unknown'. */
export function clientIp(event: RequestEvent): string {
	try {
		return event.getClientAddress();
	} catch {
		return 'unknown';
	}
}
