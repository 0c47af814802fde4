/**
 * A fresh idempotency key for one form submission. crypto.randomUUID exists only in
 * secure contexts (https, localhost); getRandomValues everywhere, e.g. on http://10.0.0.5.
 */
export function newIdempotencyKey(): string {
	if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
	return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
