import { describe, expect, it } from 'vitest';
import { errorOutcome } from './outcomes';
import { classifyResponse } from '../channels/http';
import { readTwilioError } from '../channels/twilio-errors';
import { readWhatsappError } from '../channels/whatsapp-errors';
import { ChannelError } from '../channels/types';

/** The decision table of a failed send, without a database: what each answer becomes per kind of channel. */
const DEDUPES = { idempotentResend: true };
const NO_DEDUPE = { idempotentResend: false };

const twilio = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
	classifyResponse(new Response(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }), { status, headers }), readTwilioError);
const graph = (status: number, code: number, message: string) =>
	classifyResponse(new Response(JSON.stringify({ error: { message, type: 'OAuthException', code, fbtrace_id: 'x' } }), { status }), readWhatsappError);

describe('errorOutcome', () => {
	it('an ambiguous failure is unknown at once where the channel cannot dedupe, and retried where it can', () => {
		const e = new ChannelError('transient', 'timeout', 'No answer', undefined, { ambiguous: true });
		expect(errorOutcome(1, 1, e, NO_DEDUPE)).toMatchObject({ status: 'unknown', errorClass: 'unknown', code: 'timeout' });
		expect(errorOutcome(1, 1, e, DEDUPES)).toMatchObject({ status: 'pending', errorClass: 'transient' });
		expect(errorOutcome(1, 5, e, DEDUPES)).toMatchObject({ status: 'failed' });
	});

	it('a failure before anything was written is retried on any channel; permanent fails; auth stays pending', () => {
		const refused = new ChannelError('transient', 'ECONNREFUSED', 'Network error');
		expect(errorOutcome(1, 1, refused, NO_DEDUPE)).toMatchObject({ status: 'pending' });
		expect(errorOutcome(1, 5, refused, NO_DEDUPE)).toMatchObject({ status: 'failed' });
		expect(errorOutcome(1, 1, new ChannelError('permanent', 'x', 'no'), NO_DEDUPE)).toMatchObject({ status: 'failed' });
		expect(errorOutcome(1, 5, new ChannelError('auth', 'http_401', 'no'), NO_DEDUPE)).toMatchObject({ status: 'pending', errorClass: 'auth' });
	});
});

describe('provider answers', () => {
	it('a 5xx is ambiguous whatever the body; 401 is auth; 408 transient; other 4xx permanent', async () => {
		expect(await classifyResponse(new Response('oops', { status: 502 }))).toMatchObject({ errorClass: 'transient', ambiguous: true, code: 'http_502' });
		expect(await twilio(500, 20500, 'Internal Server Error')).toMatchObject({ ambiguous: true, code: 'twilio_20500' });
		expect(await classifyResponse(new Response('', { status: 401 }))).toMatchObject({ errorClass: 'auth' });
		expect(await classifyResponse(new Response('', { status: 408 }))).toMatchObject({ errorClass: 'transient', ambiguous: false });
		expect(await classifyResponse(new Response('', { status: 422 }))).toMatchObject({ errorClass: 'permanent', ambiguous: false });
	});

	it('Twilio codes', async () => {
		expect(await twilio(401, 20003, 'Authenticate')).toMatchObject({ errorClass: 'auth', code: 'twilio_20003', message: 'Authenticate' });
		expect(await twilio(429, 20429, 'Too Many Requests', { 'retry-after': '3' })).toMatchObject({ errorClass: 'rate_limited', retryAfterMs: 3000, ambiguous: false });
		expect(await twilio(400, 21211, "Invalid 'To' Phone Number")).toMatchObject({ errorClass: 'permanent', code: 'twilio_21211', message: "Invalid 'To' Phone Number" });
		expect(await twilio(400, 21610, 'Attempt to send to unsubscribed recipient')).toMatchObject({ errorClass: 'permanent', optedOut: true });
		for (const c of [21408, 21614, 30003, 30004, 30005, 30006, 30007, 30008]) expect(await twilio(400, c, 'x')).toMatchObject({ errorClass: 'permanent', optedOut: false });
		// A code not in the table: classed by status, code and message kept.
		expect(await twilio(400, 21606, 'From is not a valid number')).toMatchObject({ errorClass: 'permanent', code: 'twilio_21606', message: 'Rejected (400): From is not a valid number' });
		// Not Twilio's shape: the status decides.
		expect(await classifyResponse(new Response('<html>', { status: 403 }), readTwilioError)).toMatchObject({ errorClass: 'permanent', code: 'http_403' });
	});

	it('WhatsApp codes', async () => {
		expect(await graph(401, 190, 'Error validating access token')).toMatchObject({ errorClass: 'auth', code: 'whatsapp_190' });
		expect(await graph(429, 130429, '(#130429) Rate limit hit')).toMatchObject({ errorClass: 'rate_limited', retryAfterMs: 1000 });
		expect(await graph(400, 131056, '(#131056) pair rate limit hit')).toMatchObject({ errorClass: 'rate_limited', retryAfterMs: 6000 });
		for (const c of [131026, 131047, 131051, 132000, 132001, 132015]) expect(await graph(400, c, 'x')).toMatchObject({ errorClass: 'permanent', code: `whatsapp_${c}` });
	});
});
