import { z } from 'zod';
import { sql, type Executor } from '../db/client';
import { badInput, conflict, notFound } from '../errors';
import { CHANNEL_KINDS } from '../db/schema';

/**
 * Config keys holding secrets: stored, used by the worker (and by the receipts route:
 * verifyToken and appSecret check WhatsApp's webhook), never sent back to a browser.
 */
export const SECRET_KEYS = ['secret', 'authToken', 'accessToken', 'verifyToken', 'appSecret'] as const;

export const channelConfig = z
	.object({
		url: z.string().url().optional(),
		secret: z.string().max(500).optional(),
		timeoutMs: z.number().int().min(100).max(120_000).optional(),
		baseUrl: z.string().url().optional(),
		accountSid: z.string().max(100).optional(),
		authToken: z.string().max(500).optional(),
		from: z.string().max(50).optional(),
		apiVersion: z.string().max(20).optional(),
		phoneNumberId: z.string().max(100).optional(),
		accessToken: z.string().max(2000).optional(),
		/** WhatsApp: the token Meta's webhook verification must present (hub.verify_token). */
		verifyToken: z.string().max(500).optional(),
		/** WhatsApp: the Meta app's secret, the key of X-Hub-Signature-256 on its webhooks. */
		appSecret: z.string().max(500).optional(),
		latencyMs: z.number().int().min(0).max(60_000).optional(),
		failureRate: z.number().min(0).max(1).optional()
	})
	.strict();

export const channelCreate = z.object({
	id: z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'id: lowercase letters, digits, - and _ (at most 40)'),
	name: z.string().trim().min(1).max(100),
	kind: z.enum(CHANNEL_KINDS),
	config: channelConfig.default({}),
	ratePerSecond: z.number().int().min(1).max(1_000_000).default(100),
	enabled: z.boolean().default(true)
});
export const channelUpdate = channelCreate.partial().extend({ id: channelCreate.shape.id });

const REQUIRED: Record<string, string[]> = {
	sandbox: [],
	webhook: ['url'],
	twilio: ['accountSid', 'authToken', 'from'],
	whatsapp: ['phoneNumberId', 'accessToken']
};

type Row = { id: string; name: string; kind: string; config: Record<string, unknown>; ratePerSecond: number; enabled: boolean; updatedAt: Date };

/** What a browser may see: secrets replaced by whether they are set. */
export function redact(row: Row) {
	const config: Record<string, unknown> = { ...row.config };
	const secretsSet: string[] = [];
	for (const k of SECRET_KEYS) {
		if (k in config) {
			if (config[k]) secretsSet.push(k);
			delete config[k];
		}
	}
	return { ...row, config, secretsSet };
}

/** A channels row under the names of Row. */
const columns = (ex: Executor) =>
	ex`id, name, kind, config, rate_per_second as "ratePerSecond", enabled, updated_at as "updatedAt"`;

export async function listChannels() {
	const q = sql();
	const rows = await q<Row[]>`select ${columns(q)} from channels order by id`;
	return rows.map(redact);
}

function checkRequired(kind: string, config: Record<string, unknown>) {
	for (const k of REQUIRED[kind] ?? []) {
		if (!config[k]) throw badInput(`A ${kind} channel needs config.${k}.`, `config.${k}`);
	}
}

export async function createChannel(input: z.infer<typeof channelCreate>) {
	checkRequired(input.kind, input.config);
	const q = sql();
	const [row] = await q<Row[]>`
		insert into channels (id, name, kind, config, rate_per_second, enabled)
		values (${input.id}, ${input.name}, ${input.kind}, ${JSON.stringify(input.config)}::jsonb, ${input.ratePerSecond}, ${input.enabled})
		on conflict (id) do nothing returning ${columns(q)}`;
	if (!row) throw conflict(`A channel "${input.id}" exists already.`, 'id');
	return redact(row);
}

/** Secrets left out of `config` keep their stored value, so the form need not know them. */
export async function updateChannel(input: z.infer<typeof channelUpdate>) {
	const q = sql();
	const [cur] = await q<Row[]>`select ${columns(q)} from channels where id = ${input.id}`;
	if (!cur) throw notFound(`No channel ${input.id}.`, 'id');
	const kind = input.kind ?? cur.kind;
	if (cur.id === 'sandbox' && kind !== 'sandbox') throw badInput('The sandbox channel stays a sandbox.', 'kind');
	const config = { ...(input.config ?? cur.config) };
	if (input.config) for (const k of SECRET_KEYS) if (!(k in input.config) && cur.config[k]) config[k] = cur.config[k];
	checkRequired(kind, config);
	const [row] = await q<Row[]>`
		update channels set name = ${input.name ?? cur.name}, kind = ${kind}, config = ${JSON.stringify(config)}::jsonb,
			rate_per_second = ${input.ratePerSecond ?? cur.ratePerSecond}, enabled = ${input.enabled ?? cur.enabled}, updated_at = now()
		where id = ${input.id} returning ${columns(q)}`;
	return redact(row);
}

export async function deleteChannel(id: string) {
	if (id === 'sandbox') throw badInput('The sandbox channel is the default and cannot be deleted.', 'id');
	const rows = await sql()`delete from channels where id = ${id} returning id`;
	if (rows.length === 0) throw notFound(`No channel ${id}.`, 'id');
}
