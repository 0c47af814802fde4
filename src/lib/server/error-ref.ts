import { randomBytes } from 'node:crypto';

/**
 * A short reference for an internal error: the client gets it instead of the error's
 * text, the log line with the details carries the same one, so support can find it.
 */
export function errorRef(): string {
	return randomBytes(6).toString('hex');
}
