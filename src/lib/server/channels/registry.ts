import { sql } from '../db/client';
import { notFound } from '../errors';
import type { Channel, ChannelRow } from './types';
import { webhookChannel } from './webhook';
import { twilioChannel } from './twilio';
import { whatsappChannel } from './whatsapp';
import { sandboxChannel } from './sandbox';

const CACHE_MS = 5_000;
const cache = new Map<string, { at: number; row: ChannelRow }>();

/** A channel's row, cached briefly: slices read it often, admins change it rarely. */
export async function loadChannelRow(id: string, fresh = false): Promise<ChannelRow> {
	const hit = cache.get(id);
	if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.row;
	const [row] = await sql()<ChannelRow[]>`
		select id, name, kind, config, rate_per_second as "ratePerSecond", enabled from channels where id = ${id}`;
	if (!row) throw notFound(`No channel ${id}.`, 'channelId');
	cache.set(id, { at: Date.now(), row });
	return row;
}

export function channelFor(row: ChannelRow): Channel {
	switch (row.kind) {
		case 'sandbox':
			return sandboxChannel(row);
		case 'webhook':
			return webhookChannel(row);
		case 'twilio':
			return twilioChannel(row);
		case 'whatsapp':
			return whatsappChannel(row);
	}
}

/** Channels whose re-send after a crash cannot deliver twice. */
export function isIdempotentKind(kind: ChannelRow['kind']): boolean {
	return kind === 'sandbox' || kind === 'webhook';
}
