import type postgres from 'postgres';
import type { ChannelKind } from '../db/schema';
import type { Executor } from '../db/client';
import type { RenderContact } from '../templates/render';

/**
 * rate_limited and transient: try again later; permanent: never for this recipient;
 * auth: the provider refused the channel's credentials, so nothing can go out on the
 * channel until an admin fixes them (its running batches pause, the item stays pending).
 */
export type ErrorClass = 'rate_limited' | 'transient' | 'permanent' | 'auth';

/** A failed send, classed so the engine knows whether and when to retry. */
export class ChannelError extends Error {
	/**
	 * The provider may have received and accepted the message although we saw a failure
	 * (a timeout or reset after the request was written, a 5xx). On a channel without
	 * idempotentResend such a send must not be retried: its outcome is `unknown`.
	 */
	public readonly ambiguous: boolean;
	/** The provider says the recipient unsubscribed (Twilio 21610): the contact is marked opted out. */
	public readonly optedOut: boolean;
	constructor(
		public readonly errorClass: ErrorClass,
		public readonly code: string,
		message: string,
		/** For rate_limited: how long the provider asked us to wait. */
		public readonly retryAfterMs?: number,
		opts: { ambiguous?: boolean; optedOut?: boolean } = {}
	) {
		super(message);
		this.name = 'ChannelError';
		this.ambiguous = opts.ambiguous ?? false;
		this.optedOut = opts.optedOut ?? false;
	}
}

/** The channel seeded by migration 0001: where a send goes when it names none; it cannot be deleted. */
export const DEFAULT_CHANNEL_ID = 'sandbox';

export type OutgoingMessage = {
	to: string;
	body: string;
	idempotencyKey: string;
	/**
	 * The recipient's fields, for channels that fill provider-side parameters per contact
	 * (a WhatsApp template's body parameters) instead of sending `body`.
	 */
	contact?: RenderContact;
};

/**
 * The idempotency key of the message to one batch item: what a receiver dedupes a
 * re-send on (the outbox's unique key, the webhook's Idempotency-Key header). It is
 * the same for every attempt by any worker, so a re-send after a crash carries it again.
 */
export function messageKey(batchId: string, itemId: number): string {
	return `${batchId}:${itemId}`;
}

/** messageKey in SQL, from a batch id and an item id (columns or parameters). */
export function messageKeySql(ex: Executor, batchId: postgres.Fragment, itemId: postgres.Fragment) {
	return ex`(${batchId} || ':' || ${itemId})`;
}

/**
 * What a kind of channel can do, declared once per kind beside its implementation and
 * collected in channels/registry.ts. The engine decides by these, never by kind.
 */
export type ChannelCapabilities = {
	/**
	 * Delivery is a database write (the outbox) with no provider call: the engine claims,
	 * delivers and records a whole slice in one transaction (send/sandbox.ts), a paced
	 * step in one statement (send/paced.ts), and sizes slices for that. Otherwise each
	 * message is a `send()` call made with no transaction open (send/http.ts).
	 */
	batchSend: boolean;
	/**
	 * Re-sending a message under the same idempotency key cannot deliver it twice
	 * (sandbox: the outbox's unique key; webhook: the Idempotency-Key header). A message
	 * whose outcome is unknown (a worker died, or its outcome could not be recorded) is
	 * then sent again; otherwise it becomes `unknown` and is never re-sent silently.
	 */
	idempotentResend: boolean;
};

/** One provider behind the common interface. */
export interface Channel {
	readonly id: string;
	readonly kind: ChannelKind;
	readonly capabilities: ChannelCapabilities;
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
	/** The channel's default quiet window (minutes after midnight); null: none. */
	quietStart?: number | null;
	quietEnd?: number | null;
};
