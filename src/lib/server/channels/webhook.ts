import { createHmac } from 'node:crypto';
import type { Channel, ChannelCapabilities, ChannelRow, OutgoingMessage } from './types';
import { classifyResponse, post, str } from './http';

/**
 * Legacy signature: HMAC-SHA256 of the raw body with the secret string as its UTF-8 key,
 * hex, as sent in X-Batchdesk-Signature ("sha256=<hex>"). Deprecated: it signs neither
 * an id nor a time, so a receiver cannot reject a replayed request. Kept for one
 * release beside the Standard Webhooks headers so existing receivers keep working.
 */
export function signBody(secret: string, body: string): string {
	return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const WHSEC = 'whsec_';

/**
 * The HMAC key of a Standard Webhooks signature. A `whsec_<base64>` secret is the spec's
 * serialisation: the key is the decoded bytes, so the receiver passes the same string to
 * a Standard Webhooks library. Any other secret (those configured before this header
 * existed) is used as its UTF-8 bytes, so nobody has to re-key: the receiver passes it
 * with the library's raw format (JS: `new Webhook(secret, { format: 'raw' })`).
 */
export function standardWebhookKey(secret: string): Buffer {
	return secret.startsWith(WHSEC) ? Buffer.from(secret.slice(WHSEC.length), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (Standard Webhooks 1.0, symmetric).
 * The id must not contain "." (the spec's delimiter); messageKey's `batch:item` does not.
 */
export function standardSignature(key: Buffer, id: string, timestampSec: number, body: string): string {
	return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}

/** One HTTP call per message; the receiver dedupes on Idempotency-Key, so a re-send is safe. */
export const WEBHOOK_CAPABILITIES: ChannelCapabilities = { batchSend: false, idempotentResend: true };

/**
 * POSTs {to, body, idempotencyKey} as JSON to the configured URL. The receiver can
 * verify the signature and dedupe on Idempotency-Key (= webhook-id), which makes
 * re-sends safe. webhook-timestamp is the attempt's time, so a retry carries a fresh
 * one under the same id, and a receiver rejects a replay by age and by id.
 */
export function webhookChannel(row: ChannelRow): Channel {
	const url = str(row.config, 'url');
	const secret = str(row.config, 'secret', '');
	const key = secret ? standardWebhookKey(secret) : null;
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
			if (key) {
				const timestamp = Math.floor(Date.now() / 1000);
				headers['webhook-id'] = msg.idempotencyKey;
				headers['webhook-timestamp'] = String(timestamp);
				headers['webhook-signature'] = standardSignature(key, msg.idempotencyKey, timestamp, body);
				headers['x-batchdesk-signature'] = signBody(secret, body);
			}
			const res = await post(url, { body, headers, timeoutMs });
			if (!res.ok) throw await classifyResponse(res);
			const json = (await res.json().catch(() => ({}))) as { id?: unknown; messageId?: unknown };
			return String(json.id ?? json.messageId ?? msg.idempotencyKey);
		}
	};
}
