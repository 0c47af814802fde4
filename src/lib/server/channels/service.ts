import { DEFAULT_CHANNEL_ID } from './types';
import { z } from 'zod';
import { sql, transaction, type Executor } from '../db/client';
import { badInput, conflict, notFound } from '../errors';
import { CHANNEL_KINDS } from '../db/schema';
import { resolvedProblem, urlProblem } from './address-policy';
import { text } from '../../schemas/text';
import { audit, type AuditCtx } from '../audit/record';
import { quietFromColumns, quietHours, quietMinutes } from '../../schemas/quiet';

/** A provider URL: http(s) only (`file:///etc/passwd` was accepted); where it may point is checked on save (checkHosts). */
const providerUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);

/**
 * Config keys holding secrets: stored, used by the worker (and by the receipts route:
 * verifyToken and appSecret check WhatsApp's webhook), never sent back to a browser.
 */
export const SECRET_KEYS = ['secret', 'authToken', 'accessToken', 'verifyToken', 'appSecret'] as const;

export const channelConfig = z
	.object({
		url: providerUrl().optional(),
		secret: text().max(500).refine(validSecret, 'A whsec_ secret is whsec_ and the base64 of 24 to 64 random bytes').optional(),
		timeoutMs: z.number().int().min(100).max(120_000).optional(),
		baseUrl: providerUrl().optional(),
		accountSid: text().max(100).optional(),
		authToken: text().max(500).optional(),
		from: text().max(50).optional(),
		messagingServiceSid: z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'A Messaging Service SID is MG and 32 hex digits').optional(),
		apiVersion: text().max(20).optional(),
		phoneNumberId: text().max(100).optional(),
		accessToken: text().max(2000).optional(),
		templateName: z.string().regex(/^[a-z0-9_]{1,512}$/, 'A template name has lowercase letters, digits and _').optional(),
		templateLanguage: z.string().regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, 'A language code like en or en_US').optional(),
		templateParams: z.array(z.string().trim().min(1).max(1024).refine(noNul, 'No NUL characters')).max(20).optional(),
		/** WhatsApp: the token Meta's webhook verification must present (hub.verify_token). */
		verifyToken: text().max(500).optional(),
		/** WhatsApp: the Meta app's secret, the key of X-Hub-Signature-256 on its webhooks. */
		appSecret: text().max(500).optional(),
		latencyMs: z.number().int().min(0).max(60_000).optional(),
		failureRate: z.number().min(0).max(1).optional()
	})
	.strict();

export const channelCreate = z.object({
	id: z.string().trim().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'id: lowercase letters, digits, - and _ (at most 40)'),
	name: text().trim().min(1).max(100),
	kind: z.enum(CHANNEL_KINDS),
	config: channelConfig.default({}),
	ratePerSecond: z.number().int().min(1).max(1_000_000).default(100),
	enabled: z.boolean().default(true),
	/** The quiet window (recipients' local time) of sends on this channel that name none; null or left out: none. */
	quietHours: quietHours.nullable().optional()
});

/** The config keys of a patch: a value replaces the stored one, null removes the key, a key left out is kept. */
function nullable<T extends Record<string, z.ZodType>>(shape: T) {
	return Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.nullable()])) as { [K in keyof T]: z.ZodNullable<T[K]> };
}
export const channelConfigPatch = z.object(nullable(channelConfig.shape)).strict();

/**
 * channels.update is a patch: every field left out keeps its value (no defaults here,
 * or a rename would reset the cap and re-enable the channel), and config is merged key
 * by key (mergeConfig).
 */
export const channelUpdate = z.object({
	id: channelCreate.shape.id,
	name: channelCreate.shape.name.optional(),
	kind: z.enum(CHANNEL_KINDS).optional(),
	config: channelConfigPatch.optional(),
	ratePerSecond: z.number().int().min(1).max(1_000_000).optional(),
	enabled: z.boolean().optional(),
	/** Left out: kept; null: removed. */
	quietHours: quietHours.nullable().optional()
});
export type ChannelPatch = z.infer<typeof channelUpdate>;

function noNul(s: string) {
	return !s.includes('\u0000');
}

/** Standard Webhooks: a whsec_ secret is base64 of 24 to 64 bytes; any other secret is used as its UTF-8 bytes. */
function validSecret(s: string) {
	if (!noNul(s)) return false;
	if (!s.startsWith('whsec_')) return true;
	const b64 = s.slice('whsec_'.length);
	if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
	const n = Buffer.from(b64, 'base64').length;
	return n >= 24 && n <= 64;
}

const REQUIRED: Record<string, string[]> = {
	sandbox: [],
	webhook: ['url'],
	twilio: ['accountSid', 'authToken'],
	whatsapp: ['phoneNumberId', 'accessToken']
};

/**
 * The key naming the host a kind's requests go to, and the secrets sent there with each
 * request (as a credential, or as the key of a signature the host could replay
 * elsewhere). Changing the host without entering these again is refused: the stored
 * secrets are write-only, and keeping them would hand them to a host the admin who
 * typed the new URL may not control. (Issue 12 reviews secrets further; this rule is
 * the part that needs no new storage.)
 */
const HOST_BOUND: Record<string, { host: 'url' | 'baseUrl'; secrets: (typeof SECRET_KEYS)[number][] }> = {
	webhook: { host: 'url', secrets: ['secret'] },
	twilio: { host: 'baseUrl', secrets: ['authToken'] },
	whatsapp: { host: 'baseUrl', secrets: ['accessToken'] }
};

type Row = {
	id: string;
	name: string;
	kind: string;
	config: Record<string, unknown>;
	ratePerSecond: number;
	enabled: boolean;
	updatedAt: Date;
	quietStart: number | null;
	quietEnd: number | null;
};

/** What a browser may see: secrets replaced by whether they are set; the quiet window as HH:MM. */
export function redact({ quietStart, quietEnd, ...row }: Row) {
	const config: Record<string, unknown> = { ...row.config };
	const secretsSet: string[] = [];
	for (const k of SECRET_KEYS) {
		if (k in config) {
			if (config[k]) secretsSet.push(k);
			delete config[k];
		}
	}
	return { ...row, config, secretsSet, quietHours: quietFromColumns(quietStart, quietEnd) };
}

/** A channels row under the names of Row. */
const columns = (ex: Executor) =>
	ex`id, name, kind, config, rate_per_second as "ratePerSecond", enabled, updated_at as "updatedAt",
		quiet_start as "quietStart", quiet_end as "quietEnd"`;

export async function listChannels() {
	const q = sql();
	const rows = await q<Row[]>`select ${columns(q)} from channels order by id`;
	return rows.map(redact);
}

/**
 * Where the channel's requests would go, checked against the address policy
 * (channels/address-policy.ts): the URL itself, and (`resolve`) the addresses its name
 * has now. The lookup is not made inside a transaction: updateChannel resolves the
 * patch's URLs before it locks the row.
 */
async function checkHosts(config: Record<string, unknown> | null | undefined, resolve: boolean) {
	for (const k of ['url', 'baseUrl'] as const) {
		const v = config?.[k];
		if (typeof v !== 'string') continue;
		const problem = urlProblem(v) ?? (resolve ? await resolvedProblem(v) : null);
		if (problem) throw badInput(`config.${k} ${problem}.`, `config.${k}`);
	}
}

function checkRequired(kind: string, config: Record<string, unknown>) {
	for (const k of REQUIRED[kind] ?? []) {
		if (!config[k]) throw badInput(`A ${kind} channel needs config.${k}.`, `config.${k}`);
	}
	if (kind === 'twilio' && !config.from && !config.messagingServiceSid) {
		throw badInput('A twilio channel needs config.from or config.messagingServiceSid.', 'config.from');
	}
	if (kind === 'whatsapp') {
		if (config.templateName && !config.templateLanguage) {
			throw badInput('A WhatsApp template needs config.templateLanguage (e.g. en_US).', 'config.templateLanguage');
		}
		for (const k of ['templateLanguage', 'templateParams']) {
			if (config[k] !== undefined && !config.templateName) throw badInput(`config.${k} needs config.templateName.`, 'config.templateName');
		}
	}
}

/**
 * The config after a patch. Same kind: the stored config with each given key replaced
 * (null removes it), so secrets left out are kept. Another kind: only the patch, since
 * the old keys (and secrets) belong to another provider.
 */
export function mergeConfig(
	cur: { kind: string; config: Record<string, unknown> },
	kind: string,
	patch: ChannelPatch['config']
): Record<string, unknown> {
	const given = Object.entries(patch ?? {}).filter(([, v]) => v !== undefined);
	if (kind !== cur.kind) return Object.fromEntries(given.filter(([, v]) => v !== null));
	const out: Record<string, unknown> = { ...cur.config };
	for (const [k, v] of given) {
		if (v === null) delete out[k];
		else out[k] = v;
	}
	const bound = HOST_BOUND[kind];
	if (bound && patch?.[bound.host] !== undefined && (cur.config[bound.host] ?? null) !== (out[bound.host] ?? null)) {
		for (const s of bound.secrets) {
			if (cur.config[s] && patch[s] === undefined) {
				throw badInput(
					`config.${bound.host} changed: enter config.${s} again (or remove it), so the stored one is not sent to the new host.`,
					`config.${s}`
				);
			}
		}
	}
	return out;
}

/**
 * A channel as the audit log keeps it: no secret (only which are set) and no password in
 * a URL; the rest of the config (hosts, sender ids, template names) is what an admin
 * reviewing a change needs to see.
 */
function audited(row: Row) {
	const { config, secretsSet, name, kind, ratePerSecond, enabled, quietHours } = redact(row);
	for (const k of ['url', 'baseUrl']) {
		const v = config[k];
		if (typeof v !== 'string') continue;
		try {
			const u = new URL(v);
			if (u.username || u.password) {
				// Either part may be the credential (https://TOKEN@host): both go.
				u.username = '***';
				u.password = '';
				config[k] = u.toString();
			}
		} catch {
			// Stored URLs are checked on save; one that does not parse is kept as it is.
		}
	}
	return { name, kind, ratePerSecond, enabled, quietHours, config, secretsSet };
}

export async function createChannel(input: z.infer<typeof channelCreate>, by?: AuditCtx) {
	checkRequired(input.kind, input.config);
	await checkHosts(input.config, true);
	const quiet = quietMinutes(input.quietHours);
	return transaction(async (tx) => {
		const [row] = await tx<Row[]>`
			insert into channels (id, name, kind, config, rate_per_second, enabled, quiet_start, quiet_end)
			values (${input.id}, ${input.name}, ${input.kind}, ${JSON.stringify(input.config)}::jsonb, ${input.ratePerSecond}, ${input.enabled},
				${quiet?.start ?? null}::smallint, ${quiet?.end ?? null}::smallint)
			on conflict (id) do nothing returning ${columns(tx)}`;
		if (!row) throw conflict(`A channel "${input.id}" exists already.`, 'id');
		await audit(tx, by, 'channels.create', { type: 'channel', id: row.id }, { after: audited(row) });
		return redact(row);
	});
}

/**
 * A patch (channelUpdate): fields and config keys left out keep their stored values.
 * The row is locked between read and write, so two admins' patches both apply.
 */
export async function updateChannel(input: ChannelPatch, by?: AuditCtx) {
	await checkHosts(input.config, true);
	return transaction(async (tx) => {
		const [cur] = await tx<Row[]>`select ${columns(tx)} from channels where id = ${input.id} for update`;
		if (!cur) throw notFound(`No channel ${input.id}.`, 'id');
		const kind = input.kind ?? cur.kind;
		if (cur.id === DEFAULT_CHANNEL_ID && kind !== 'sandbox') throw badInput('The sandbox channel stays a sandbox.', 'kind');
		const config = mergeConfig(cur, kind, input.config);
		checkRequired(kind, config);
		await checkHosts(config, false);
		// Left out: the stored window; null: none.
		const quiet = input.quietHours === undefined ? { start: cur.quietStart, end: cur.quietEnd } : quietMinutes(input.quietHours);
		const [row] = await tx<Row[]>`
			update channels set name = ${input.name ?? cur.name}, kind = ${kind}, config = ${JSON.stringify(config)}::jsonb,
				rate_per_second = ${input.ratePerSecond ?? cur.ratePerSecond}, enabled = ${input.enabled ?? cur.enabled},
				quiet_start = ${quiet?.start ?? null}::smallint, quiet_end = ${quiet?.end ?? null}::smallint, updated_at = now()
			where id = ${input.id} returning ${columns(tx)}`;
		// Secrets given in the patch are named, never their values (set or removed).
		const secretsChanged = SECRET_KEYS.filter((k) => input.config?.[k] !== undefined);
		await audit(tx, by, 'channels.update', { type: 'channel', id: row.id }, { before: audited(cur), after: audited(row), secretsChanged });
		return redact(row);
	});
}

export async function deleteChannel(id: string, by?: AuditCtx) {
	if (id === DEFAULT_CHANNEL_ID) throw badInput('The sandbox channel is the default and cannot be deleted.', 'id');
	await transaction(async (tx) => {
		const [row] = await tx<Row[]>`delete from channels where id = ${id} returning ${columns(tx)}`;
		if (!row) throw notFound(`No channel ${id}.`, 'id');
		await audit(tx, by, 'channels.delete', { type: 'channel', id }, { before: audited(row) });
	});
}
