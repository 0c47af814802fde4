import { env } from '../env';

/**
 * Where providers reach us: ORIGIN (the public origin of the web app) and nothing else.
 * The Host header is the caller's to choose, so neither the callback we hand Twilio nor
 * the URL we check its signature over may come from it.
 */
export function publicOrigin(): string | undefined {
	return env().web.origin?.replace(/\/+$/, '');
}

/** The receipts URL of a channel (`<ORIGIN>/api/receipts/<channelId>`), or undefined without ORIGIN. */
export function receiptUrl(channelId: string): string | undefined {
	const origin = publicOrigin();
	return origin ? `${origin}/api/receipts/${encodeURIComponent(channelId)}` : undefined;
}

/**
 * Twilio's StatusCallback parameter for a message request: present only when ORIGIN
 * is set, because a callback to an address Twilio cannot reach (or that we could not
 * verify a signature for) is worse than none.
 */
export function statusCallbackParam(channelId: string): { StatusCallback?: string } {
	const url = receiptUrl(channelId);
	return url ? { StatusCallback: url } : {};
}
