/**
 * Domain errors: services throw these, the tRPC layer maps them to codes in one
 * place (trpc/init.ts), HTTP routes map them to statuses (httpStatus below).
 * `field` names the input field at fault, so a client can point at it.
 */
export type DomainErrorCode =
	| 'BAD_INPUT'
	| 'NOT_FOUND'
	| 'CONFLICT'
	| 'FORBIDDEN'
	| 'UNAUTHORIZED'
	| 'TOO_MANY_REQUESTS'
	| 'PAYLOAD_TOO_LARGE'
	| 'PRECONDITION_FAILED';

export class DomainError extends Error {
	constructor(
		public readonly code: DomainErrorCode,
		message: string,
		public readonly field?: string,
		/** A machine-readable why, for callers that branch on it (e.g. batch.undo's refusals). */
		public readonly reason?: string
	) {
		super(message);
		this.name = 'DomainError';
	}
}

export const badInput = (message: string, field?: string) => new DomainError('BAD_INPUT', message, field);
export const notFound = (message: string, field?: string) => new DomainError('NOT_FOUND', message, field);
export const conflict = (message: string, field?: string) => new DomainError('CONFLICT', message, field);

const STATUS: Record<DomainErrorCode, number> = {
	BAD_INPUT: 400,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 404,
	CONFLICT: 409,
	PRECONDITION_FAILED: 412,
	PAYLOAD_TOO_LARGE: 413,
	TOO_MANY_REQUESTS: 429
};

export function httpStatus(code: DomainErrorCode): number {
	return STATUS[code];
}
