import type { AuthUser } from '../auth/types';

export type Context = {
	user: AuthUser | null;
	/** The raw session token, when the caller signed in with a cookie (for logout). */
	sessionToken: string | null;
	ip: string;
	userAgent: string | null;
	/** Set for calls over the WebSocket: a message's calls run concurrently, uncounted. */
	overSocket?: boolean;
	/** Lets login/logout set or clear the session cookie over HTTP; absent over ws. */
	setCookie?: (token: string | null, expiresAt?: Date) => void;
};

export function anonymousContext(over: Partial<Context> = {}): Context {
	return { user: null, sessionToken: null, ip: 'unknown', userAgent: null, ...over };
}
