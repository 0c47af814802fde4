import { createHmac } from 'node:crypto';
import type { Channel, ChannelCapabilities, ChannelRow, OutgoingMessage } from './types';
import { classifyResponse, post, str } from './http';

/** HMAC-SHA256 of the raw body, hex, as sent in X-Batchdesk-Signature ("sha256=<hex>"). */
export function signBody(secret: string, body: string): string {
	return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** One HTTP call per message; the receiver dedupes on Idempotency-Key, so a re-send is safe. */
export const WEBHOOK_CAPABILITIES: ChannelCapabilities = { batchSend: false, idempotentResend: true };

/**
 * POSTs {to, body, idempotencyKey} as JSON to the configured URL. The receiver can
 * verify the signature and dedupe on Idempotency-Key, which makes re-sends safe.
 */
export function webhookChannel(row: ChannelRow): Channel {
	const url = str(row.config, 'url');
	const secret = str(row.config, 'secret', '');
	const timeoutMs = Number(row.config.timeoutMs ?? 10_000);
	return {
		id: row.id,
		kind: 'webhook',
		capabilities: WEBHOOK_CAPABILITIES,
		async send(msg: OutgoingMessage) {
			const body = JSON.stringify({ to: msg.to, body: msg.body, idempotencyKey: msg.idempotencyKey, channel: row.id });
			const headers: Record<string, string> = {
				'content-type': 'application/json',
				'idempotency-key': msg.idempotencyKey,
				'user-agent': 'Batchdesk'
			};
			if (secret) headers['x-batchdesk-signature'] = signBody(secret, body);
			const res = await post(url, { body, headers, timeoutMs });
			if (!res.ok) throw await classifyResponse(res);
			const json = (await res.json().catch(() => ({}))) as { id?: unknown; messageId?: unknown };
			return String(json.id ?? json.messageId ?? msg.idempotencyKey);
		}
	};
}
