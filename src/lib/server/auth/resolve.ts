import { validateApiTokenWithExpiry } from './tokens';
import { validateSession } from './sessions';
import type { AuthUser } from './types';

export type ResolvedAuth = {
	user: AuthUser | null;
	sessionToken: string | null;
	/** Set when a session was renewed and its cookie must be re-sent. */
	renewedUntil: Date | null;
	/** When the credential ends by itself (session or token expiry); null: not by itself. */
	expiresAt: Date | null;
};

const NOBODY: ResolvedAuth = { user: null, sessionToken: null, renewedUntil: null, expiresAt: null };

/**
 * The one credential check used by HTTP requests and ws connections alike (and by the ws
 * re-checks, with `renew: false`: a socket cannot re-send a cookie).
 */
export async function resolveAuth(
	creds: { sessionToken?: string | null; bearer?: string | null },
	opts: { renew?: boolean } = {}
): Promise<ResolvedAuth> {
	if (creds.bearer) {
		// A bad bearer token is refused even when a cookie is present: scripts must know.
		const t = await validateApiTokenWithExpiry(creds.bearer);
		return t ? { user: t.user, sessionToken: null, renewedUntil: null, expiresAt: t.expiresAt } : NOBODY;
	}
	if (creds.sessionToken) {
		const s = await validateSession(creds.sessionToken, opts);
		if (s) return { user: s.user, sessionToken: creds.sessionToken, renewedUntil: s.renewedUntil, expiresAt: s.expiresAt };
	}
	return NOBODY;
}

export function bearerFrom(header: string | null | undefined): string | null {
	if (!header) return null;
	const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
	return m ? m[1] : null;
}

export function cookieValue(header: string | null | undefined, name: string): string | null {
	if (!header) return null;
	for (const part of header.split(';')) {
		const i = part.indexOf('=');
		if (i > 0 && part.slice(0, i).trim() === name) {
			try {
				return decodeURIComponent(part.slice(i + 1).trim());
			} catch {
				return null; // a malformed %-escape is no credential, not an error
			}
		}
	}
	return null;
}
