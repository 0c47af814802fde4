import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time string comparison (length is not secret: both sides are fixed-size digests). */
export function sameSecret(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * X-Twilio-Signature as Twilio computes it (docs: "Secure webhooks"): the full URL it
 * called, then every POST parameter sorted by name, each name immediately followed by
 * its value, HMAC-SHA1 with the account's auth token, base64. Names sort by code unit
 * (JavaScript's default sort, what Twilio's own libraries use); a name sent twice keeps
 * its values in sorted order.
 */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
	const sorted = [...params].sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
	const hmac = createHmac('sha1', authToken).update(url, 'utf8');
	for (const [k, v] of sorted) hmac.update(k + v, 'utf8');
	return hmac.digest('base64');
}

export function twilioSignatureValid(authToken: string, url: string, params: Iterable<[string, string]>, header: string | null): boolean {
	if (!authToken || !header) return false;
	return sameSecret(twilioSignature(authToken, url, params), header);
}

/**
 * Meta's X-Hub-Signature-256: `sha256=` + hex HMAC-SHA256 of the raw body bytes with
 * the app secret. The raw bytes, not a re-serialised JSON: Meta escapes some
 * characters, and any re-encoding would change the digest.
 */
export function metaSignature(appSecret: string, rawBody: Uint8Array): string {
	return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

export function metaSignatureValid(appSecret: string, rawBody: Uint8Array, header: string | null): boolean {
	if (!appSecret || !header) return false;
	return sameSecret(metaSignature(appSecret, rawBody), header.trim().toLowerCase());
}
