import { sql } from '../db/client';
import { logger } from '../log';
import { publishBatchUpdate } from '../events/publish';
import { applyReceipts, type Applied } from './apply';
import { parkReceipts } from './parked';
import { metaSignatureValid, sameSecret, twilioSignatureValid } from './signatures';
import { EMPTY_TWIML, parseTwilio } from './twilio';
import { parseWhatsapp, verifyHandshake } from './whatsapp';
import { publicOrigin } from './url';
import { reply, type Receipt, type Reply } from './types';

const log = logger.child({ module: 'receipts' });

/** Provider callbacks are small (a Twilio form, a WhatsApp batch of statuses); more is not one. */
export const RECEIPT_MAX_BYTES = 1024 * 1024;

type ChannelSecrets = { id: string; kind: string; config: Record<string, unknown> };

async function loadChannel(id: string): Promise<ChannelSecrets | undefined> {
	// Read fresh, not through the registry's cache: a rotated secret takes effect at once.
	const [row] = await sql()<ChannelSecrets[]>`select id, kind, config from channels where id = ${id}`;
	return row;
}

const secret = (c: ChannelSecrets, key: string) => (typeof c.config[key] === 'string' ? (c.config[key] as string) : '');

const NOT_FOUND = () => reply(404, 'No such receipts endpoint');
const FORBIDDEN = () => reply(403, 'Forbidden');

/**
 * GET /api/receipts/<channelId>: Meta's webhook verification for a WhatsApp channel,
 * answered with hub.challenge when hub.verify_token is the channel's verifyToken.
 */
export async function receiptGet(channelId: string, query: URLSearchParams): Promise<Reply> {
	const channel = await loadChannel(channelId);
	if (!channel || (channel.kind !== 'whatsapp' && channel.kind !== 'twilio')) return NOT_FOUND();
	if (channel.kind !== 'whatsapp') return reply(405, 'Twilio posts its callbacks');
	const challenge = verifyHandshake(query, secret(channel, 'verifyToken'), sameSecret);
	if (challenge === null) {
		log.warn({ channelId }, 'WhatsApp webhook verification refused (hub.mode or hub.verify_token wrong, or no verifyToken)');
		return FORBIDDEN();
	}
	return reply(200, challenge);
}

/**
 * POST /api/receipts/<channelId>: a Twilio status callback or inbound message, or a
 * WhatsApp webhook; each refused with 403 unless signed with the channel's secret.
 * `pathAndQuery` is the request's path and query string: Twilio signs the URL it
 * called, which is ORIGIN followed by them.
 */
export async function receiptPost(
	channelId: string,
	req: { pathAndQuery: string; signature: (header: string) => string | null; body: Uint8Array | null }
): Promise<Reply> {
	const channel = await loadChannel(channelId);
	if (!channel || (channel.kind !== 'whatsapp' && channel.kind !== 'twilio')) return NOT_FOUND();
	if (req.body === null) return reply(413, 'Body too large');
	return channel.kind === 'twilio'
		? twilioPost(channel, req.pathAndQuery, req.body, req.signature('x-twilio-signature'))
		: whatsappPost(channel, req.body, req.signature('x-hub-signature-256'));
}

async function twilioPost(channel: ChannelSecrets, pathAndQuery: string, body: Uint8Array, signature: string | null): Promise<Reply> {
	const origin = publicOrigin();
	if (!origin) {
		// Without ORIGIN there is no URL Twilio signed that we could trust (not the Host header).
		log.warn({ channelId: channel.id }, 'Twilio callback refused: ORIGIN is not set, so its signature cannot be checked');
		return FORBIDDEN();
	}
	const form = new URLSearchParams(Buffer.from(body).toString('utf8'));
	if (!twilioSignatureValid(secret(channel, 'authToken'), origin + pathAndQuery, form.entries(), signature)) {
		log.warn({ channelId: channel.id, signed: signature !== null }, 'Twilio callback refused: bad or missing X-Twilio-Signature');
		return FORBIDDEN();
	}
	const callback = parseTwilio(form);
	if (callback.kind === 'status') {
		if (callback.receipt) await applyNow([channel.id], [callback.receipt]);
		return reply(200, EMPTY_TWIML, 'text/xml; charset=utf-8');
	}
	if (callback.kind === 'inbound' && callback.keyword === 'optOut') {
		const rows = await sql()<{ id: number }[]>`
			update contacts set
				opted_out_at = now(),
				updated_at = now()
			where phone_e164 = ${callback.from}
				and opted_out_at is null
			returning id::int as id`;
		log.info({ channelId: channel.id, optedOut: rows.length }, 'inbound opt-out keyword');
	}
	if (callback.kind === 'inbound' && callback.keyword === 'optIn') {
		// The sender asked for messages again (Twilio itself resumes delivery to them).
		const rows = await sql()<{ id: number }[]>`
			update contacts set
				opted_out_at = null,
				updated_at = now()
			where phone_e164 = ${callback.from}
				and opted_out_at is not null
			returning id::int as id`;
		log.info({ channelId: channel.id, optedIn: rows.length }, 'inbound opt-in keyword');
	}
	return reply(200, EMPTY_TWIML, 'text/xml; charset=utf-8');
}

async function whatsappPost(channel: ChannelSecrets, body: Uint8Array, signature: string | null): Promise<Reply> {
	const appSecret = secret(channel, 'appSecret');
	if (!metaSignatureValid(appSecret, body, signature)) {
		log.warn({ channelId: channel.id, signed: signature !== null }, 'WhatsApp webhook refused: bad or missing X-Hub-Signature-256');
		return FORBIDDEN();
	}
	const receipts = parseWhatsapp(body);
	// Signed but not a webhook we understand: 200 all the same, or Meta retries it for days.
	if (receipts === null) return reply(200, 'ignored');
	// One Meta app posts the statuses of all its numbers to one URL: the channels sharing
	// this app secret are the ones its signature speaks for.
	const scope = await sql()<{ id: string }[]>`
		select id from channels
		where kind = 'whatsapp'
			and config->>'appSecret' = ${appSecret}`;
	await applyNow(
		scope.map((c) => c.id),
		receipts
	);
	return reply(200, 'ok');
}

/** Applies receipts now (again once on a deadlock), parks the unmatched until their send is recorded (parked.ts), and tells live views. */
async function applyNow(channelIds: string[], receipts: Receipt[]) {
	const { unmatched } = await applyAndPublish(channelIds, receipts);
	const later = new Set(unmatched);
	await parkReceipts(channelIds, receipts.filter((r) => later.has(r.messageId)));
}

/** A deadlock or serialization failure: the statement changed nothing and may run again. */
const isRetryable = (e: unknown) => ['40P01', '40001'].includes((e as { code?: string }).code ?? '');

async function applyAndPublish(channelIds: string[], receipts: Receipt[]): Promise<Applied> {
	let applied: Applied;
	try {
		applied = await applyReceipts(sql(), channelIds, receipts);
	} catch (e) {
		// Two requests over the same batches in another order: the loser goes again.
		if (!isRetryable(e)) throw e;
		applied = await applyReceipts(sql(), channelIds, receipts);
	}
	for (const id of applied.batchIds) await publishBatchUpdate(id).catch((err) => log.warn({ err, batchId: id }, 'live update failed'));
	return applied;
}
