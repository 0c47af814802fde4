import { validateApiToken } from './tokens';
import { validateSession } from './sessions';
import type { AuthUser } from './types';

export type ResolvedAuth = {
	user: AuthUser | null;
	sessionToken: string | null;
	/** Set when a session was renewed and its cookie must be re-sent. */
	renewedUntil: Date | null;
};

/** The one credential check used by HTTP requests and ws connections alike. */
export async function resolveAuth(creds: {
	sessionToken?: string | null;
	bearer?: string | null;
}): Promise<ResolvedAuth> {
	if (creds.bearer) {
		// A bad bearer token is refused even when a cookie is present: scripts must know.
		return { user: await validateApiToken(creds.bearer), sessionToken: null, renewedUntil: null };
	}
	if (creds.sessionToken) {
		const s = await validateSession(creds.sessionToken);
		if (s) return { user: s.user, sessionToken: creds.sessionToken, renewedUntil: s.renewedUntil };
	}
	return { user: null, sessionToken: null, renewedUntil: null };
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
		if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
	}
	return null;
}
