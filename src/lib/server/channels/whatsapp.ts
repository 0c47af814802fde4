import type { Channel, ChannelCapabilities, ChannelRow, OutgoingMessage } from './types';
import { classifyResponse, post, str } from './http';
import { readWhatsappError } from './whatsapp-errors';

/** One HTTP call per message, and no idempotency key to make a re-send safe (below). */
export const WHATSAPP_CAPABILITIES: ChannelCapabilities = { batchSend: false, idempotentResend: false };

/**
 * Meta WhatsApp Cloud API: POST {base}/{version}/{phone_number_id}/messages with a
 * bearer token and a JSON text message. No idempotency key: not idempotent.
 */
export function whatsappChannel(row: ChannelRow): Channel {
	const base = str(row.config, 'baseUrl', 'https://graph.facebook.com').replace(/\/+$/, '');
	const version = str(row.config, 'apiVersion', 'v21.0');
	const phoneNumberId = str(row.config, 'phoneNumberId');
	const token = str(row.config, 'accessToken');
	const timeoutMs = Number(row.config.timeoutMs ?? 10_000);
	return {
		id: row.id,
		kind: 'whatsapp',
		capabilities: WHATSAPP_CAPABILITIES,
		async send(msg: OutgoingMessage) {
			const body = JSON.stringify({
				messaging_product: 'whatsapp',
				recipient_type: 'individual',
				to: msg.to.replace(/^\+/, ''),
				type: 'text',
				text: { preview_url: false, body: msg.body }
			});
			const res = await post(`${base}/${version}/${encodeURIComponent(phoneNumberId)}/messages`, {
				body,
				headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
				timeoutMs
			});
			if (!res.ok) throw await classifyResponse(res, readWhatsappError);
			const json = (await res.json().catch(() => ({}))) as { messages?: { id?: string }[] };
			return json.messages?.[0]?.id ?? '';
		}
	};
}
