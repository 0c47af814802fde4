import { sql } from '../db/client';
import { notFound } from '../errors';
import { CHANNEL_KINDS, type ChannelKind } from '../db/schema';
import { ChannelError, type Channel, type ChannelCapabilities, type ChannelRow } from './types';
import { webhookChannel, WEBHOOK_CAPABILITIES } from './webhook';
import { twilioChannel, TWILIO_CAPABILITIES } from './twilio';
import { whatsappChannel, WHATSAPP_CAPABILITIES } from './whatsapp';
import { sandboxChannel, SANDBOX_CAPABILITIES } from './sandbox';

const CACHE_MS = 5_000;
const cache = new Map<string, { at: number; row: ChannelRow }>();

/** A channel's row, cached briefly: slices read it often, admins change it rarely. */
export async function loadChannelRow(id: string, fresh = false): Promise<ChannelRow> {
	const hit = cache.get(id);
	if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.row;
	const [row] = await sql()<ChannelRow[]>`
		select id, name, kind, config, rate_per_second as "ratePerSecond", enabled, quiet_start as "quietStart", quiet_end as "quietEnd"
		from channels where id = ${id}`;
	if (!row) throw notFound(`No channel ${id}.`, 'channelId');
	cache.set(id, { at: Date.now(), row });
	return row;
}

/**
 * Every kind of channel: how to open one, and what it can do (declared in its own
 * file). A Record over ChannelKind, so a new kind does not compile until it is here.
 */
const KINDS: Record<ChannelKind, { open(row: ChannelRow): Channel; capabilities: ChannelCapabilities }> = {
	sandbox: { open: sandboxChannel, capabilities: SANDBOX_CAPABILITIES },
	webhook: { open: webhookChannel, capabilities: WEBHOOK_CAPABILITIES },
	twilio: { open: twilioChannel, capabilities: TWILIO_CAPABILITIES },
	whatsapp: { open: whatsappChannel, capabilities: WHATSAPP_CAPABILITIES }
};

function kindEntry(kind: ChannelKind) {
	// The column is plain text: a row written around the API may hold anything.
	if (!Object.hasOwn(KINDS, kind)) throw new ChannelError('permanent', 'channel_kind', `Unknown channel kind "${kind}"`);
	return KINDS[kind];
}

/** The channel behind a row; throws ChannelError when its kind or config is not usable. */
export function channelFor(row: ChannelRow): Channel {
	return kindEntry(row.kind).open(row);
}

/** What a channel of this kind can do, without opening one (its config may be incomplete). */
export function capabilitiesOf(kind: ChannelKind): ChannelCapabilities {
	return kindEntry(kind).capabilities;
}

/** The kinds that have a capability, for statements that decide per row by channel kind. */
export function kindsWith(capability: keyof ChannelCapabilities): ChannelKind[] {
	return CHANNEL_KINDS.filter((k) => KINDS[k].capabilities[capability]);
}
