import { z } from 'zod';
import type { Delivery, Receipt } from './types';

/** WhatsApp statuses that say where a message ended up; `sent` (in transit) changes nothing here. */
const WHATSAPP_DELIVERY: Record<string, Delivery> = { delivered: 'delivered', read: 'read', failed: 'failed' };

/**
 * The part of Meta's webhook we read (Cloud API, field `messages`):
 * entry[].changes[].value.statuses[] with id (wamid), status and, on failure, errors[].
 * Everything else (inbound messages, metadata, pricing) passes through untouched.
 */
const webhook = z.object({
	entry: z
		.array(
			z.object({
				changes: z
					.array(
						z.object({
							value: z
								.object({
									statuses: z
										.array(
											z.object({
												id: z.string().min(1).max(500),
												status: z.string(),
												errors: z.array(z.object({ code: z.union([z.number(), z.string()]).optional() })).optional()
											})
										)
										.optional()
								})
								.optional()
						})
					)
					.optional()
			})
		)
		.optional()
});

/** The receipts in a WhatsApp webhook body; null when it is not a webhook body at all. */
export function parseWhatsapp(raw: Uint8Array): Receipt[] | null {
	let json: unknown;
	try {
		json = JSON.parse(Buffer.from(raw).toString('utf8'));
	} catch {
		return null;
	}
	const parsed = webhook.safeParse(json);
	if (!parsed.success) return null;
	const out: Receipt[] = [];
	for (const e of parsed.data.entry ?? [])
		for (const c of e.changes ?? [])
			for (const s of c.value?.statuses ?? []) {
				const delivery = WHATSAPP_DELIVERY[s.status];
				if (!delivery) continue;
				const code = s.errors?.[0]?.code;
				out.push({ messageId: s.id, delivery, code: code === undefined ? null : String(code).slice(0, 50) });
			}
	return out;
}

/**
 * Meta's subscription check: GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…
 * is answered with the challenge only when the token is the one configured for the
 * channel. Returns the challenge to echo, or null to refuse.
 */
export function verifyHandshake(query: URLSearchParams, verifyToken: string, same: (a: string, b: string) => boolean): string | null {
	if (!verifyToken) return null;
	if (query.get('hub.mode') !== 'subscribe') return null;
	const token = query.get('hub.verify_token');
	const challenge = query.get('hub.challenge');
	if (token === null || challenge === null || !same(token, verifyToken)) return null;
	return challenge;
}
