import type { ChannelKind } from '../db/schema';

export type ErrorClass = 'rate_limited' | 'transient' | 'permanent';

/** A failed send, classed so the engine knows whether and when to retry. */
export class ChannelError extends Error {
	constructor(
		public readonly errorClass: ErrorClass,
		public readonly code: string,
		message: string,
		/** For rate_limited: how long the provider asked us to wait. */
		public readonly retryAfterMs?: number
	) {
		super(message);
		this.name = 'ChannelError';
	}
}

export type OutgoingMessage = { to: string; body: string; idempotencyKey: string };

/** One provider behind the common interface. */
export interface Channel {
	readonly id: string;
	readonly kind: ChannelKind;
	/**
	 * True when re-sending a message with the same idempotency key cannot deliver it
	 * twice (sandbox: unique key; webhook: Idempotency-Key header). After a crash, the
	 * engine re-sends in-flight items of such channels, and marks them `unknown` otherwise.
	 */
	readonly idempotent: boolean;
	/** Sends one message; resolves to the provider's message id or throws ChannelError. */
	send(msg: OutgoingMessage): Promise<string>;
}

export type ChannelRow = {
	id: string;
	name: string;
	kind: ChannelKind;
	config: Record<string, unknown>;
	ratePerSecond: number;
	enabled: boolean;
};
