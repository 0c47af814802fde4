import type { Channel, ChannelCapabilities, ChannelRow, OutgoingMessage } from './types';
import { classifyResponse, post, str } from './http';
import { statusCallbackParam } from '../receipts/url';
import { readTwilioError } from './twilio-errors';

/** One HTTP call per message, and no idempotency key to make a re-send safe (below). */
export const TWILIO_CAPABILITIES: ChannelCapabilities = { batchSend: false, idempotentResend: false };

/**
 * Twilio Programmable Messaging: POST {base}/2010-04-01/Accounts/{sid}/Messages.json,
 * form-encoded To/From|MessagingServiceSid/Body, basic auth (account sid : auth token). Twilio has
 * no idempotency key for this call, so the channel is not idempotent: an item in
 * flight at a crash becomes `unknown` instead of being re-sent.
 */
export function twilioChannel(row: ChannelRow): Channel {
	const base = str(row.config, 'baseUrl', 'https://api.twilio.com').replace(/\/+$/, '');
	const sid = str(row.config, 'accountSid');
	const token = str(row.config, 'authToken');
	// A Messaging Service picks the sender from its pool; when set it wins over `from`.
	const messagingServiceSid = str(row.config, 'messagingServiceSid', '');
	const sender: Record<string, string> = messagingServiceSid ? { MessagingServiceSid: messagingServiceSid } : { From: str(row.config, 'from') };
	const timeoutMs = Number(row.config.timeoutMs ?? 10_000);
	const auth = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
	return {
		id: row.id,
		kind: 'twilio',
		capabilities: TWILIO_CAPABILITIES,
		async send(msg: OutgoingMessage) {
			const body = new URLSearchParams({ To: msg.to, ...sender, Body: msg.body, ...statusCallbackParam(row.id) }).toString();
			const res = await post(`${base}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`, {
				body,
				headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
				timeoutMs
			});
			if (!res.ok) throw await classifyResponse(res, readTwilioError);
			const json = (await res.json().catch(() => ({}))) as { sid?: string };
			return json.sid ?? '';
		}
	};
}
