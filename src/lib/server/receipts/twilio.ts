import type { Delivery, Receipt } from './types';

/**
 * Twilio's MessageStatus values that say where a message ended up. queued, accepted,
 * scheduled, sending and sent are steps before the handset and change nothing here.
 */
const TWILIO_DELIVERY: Record<string, Delivery> = {
	delivered: 'delivered',
	read: 'read',
	undelivered: 'undelivered',
	failed: 'failed'
};

/**
 * Twilio's default opt-out keywords (Advanced Opt-Out off): the whole message, any
 * case, surrounding whitespace ignored. Twilio itself stops delivering to the sender
 * after one of these; we mark the contact so the next batch skips it up front.
 */
export const TWILIO_OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
/** Twilio's default opt-in keywords: Twilio delivers to the sender again after one of these, so we take them back too. */
export const TWILIO_OPT_IN = new Set(['START', 'YES', 'UNSTOP']);

export type TwilioCallback =
	| { kind: 'status'; receipt: Receipt | null }
	| { kind: 'inbound'; from: string; keyword: 'optOut' | 'optIn' | null }
	| { kind: 'other' };

/**
 * What a signed Twilio POST is: a status callback (it has MessageStatus), an inbound
 * message (Body and From, no MessageStatus: the number's "a message comes in"
 * webhook), or neither.
 */
export function parseTwilio(form: URLSearchParams): TwilioCallback {
	const status = form.get('MessageStatus');
	if (status !== null) {
		const sid = form.get('MessageSid') ?? form.get('SmsSid');
		const delivery = TWILIO_DELIVERY[status.toLowerCase()];
		if (!sid || !delivery) return { kind: 'status', receipt: null };
		const code = form.get('ErrorCode');
		return { kind: 'status', receipt: { messageId: sid, delivery, code: code ? code.slice(0, 50) : null } };
	}
	const body = form.get('Body');
	const from = form.get('From');
	if (body !== null && from) {
		// A WhatsApp sender through Twilio is `whatsapp:+1…`; the contact is the number.
		const word = body.trim().toUpperCase();
		const keyword = TWILIO_OPT_OUT.has(word) ? 'optOut' : TWILIO_OPT_IN.has(word) ? 'optIn' : null;
		return { kind: 'inbound', from: from.replace(/^whatsapp:/i, ''), keyword };
	}
	return { kind: 'other' };
}

/** The answer to an inbound message: TwiML that sends no reply (Twilio sends its own STOP confirmation). */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
