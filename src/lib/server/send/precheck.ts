import { DEFAULT_CHANNEL_ID } from '../channels/types';
import { sql, type Fragment } from '../db/client';
import { badInput, notFound } from '../errors';
import { contactWhere } from '../contacts/filter';
import { loadChannelRow } from '../channels/registry';
import { getTemplate } from '../templates/service';
import { render } from '../templates/render';
import { estimateDurationMs, type PrecheckInput } from '../../schemas/send';
import { quietMinutes } from '../../schemas/quiet';
import { quietEtaMs, quietUntilSql, sendWindow, zonesSql } from './quiet';

const SAMPLES = 5;
/** A steady unpaced send reaches 95% of the channel cap (the bucket refills at 95%, channels/limiter.ts). */
const CAP_SHARE = 0.95;

/** GSM 03.38 basic set, and the extension table whose characters take two septets. */
const GSM_BASIC =
	'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '^{}\\[~]|€\f';
const GSM_SET = new Set([...GSM_BASIC, ...GSM_EXTENDED]);

export type Encoding = 'GSM-7' | 'UCS-2';

export function isGsm7(text: string): boolean {
	for (const ch of text) if (!GSM_SET.has(ch)) return false;
	return true;
}

/** SMS parts of a text: 160/153 septets in GSM-7 (extension characters count twice), 70/67 UTF-16 units in UCS-2. */
export function smsSegments(text: string, encoding: Encoding = isGsm7(text) ? 'GSM-7' : 'UCS-2'): { parts: number; encoding: Encoding; units: number } {
	let units = 0;
	if (encoding === 'GSM-7') for (const ch of text) units += GSM_EXTENDED.includes(ch) ? 2 : 1;
	else units = text.length;
	const [single, multi] = encoding === 'GSM-7' ? [160, 153] : [70, 67];
	const parts = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / multi);
	return { parts, encoding, units };
}

/** A placeholder occurrence: variable, default (undefined: none). Same grammar as templates/render.ts. */
const PLACEHOLDER = /\{\{\s*([\p{L}\p{N}_.-]+)\s*(?:\|([^}]*))?\}\}/gu;

/** Characters outside GSM-7, as a PostgreSQL bracket expression (a value matching it forces UCS-2). */
function nonGsmPattern(): string {
	// In a bracket expression: ']' first, '-' last, '^' not first, '\' doubled.
	const chars = [...new Set([...GSM_BASIC, ...GSM_EXTENDED])].filter((c) => c !== ']' && c !== '-' && c !== '^' && c !== '\\');
	return `[^]${chars.join('')}^\\\\-]`;
}

type VarStats = { missing: number; maxLen: number; nonGsm: boolean };

/**
 * What a batch.send with this input would do, without writing anything: the audience
 * after opt-outs, missing and repeated ids; recipients per template variable that has
 * neither a value nor a default; the first renders; the SMS parts of the longest
 * render; and how long it would take. Counts are one aggregate over the targets (no
 * per-recipient work in Node), samples render a handful.
 *
 * The longest render is bounded from above: each placeholder takes the longest value
 * any recipient has for it (not necessarily all on one contact), and the encoding is
 * UCS-2 when the body, a default or any recipient's value needs it.
 */
export async function precheckSend(input: PrecheckInput) {
	const channelId = input.channelId ?? DEFAULT_CHANNEL_ID;
	const channel = await loadChannelRow(channelId, true).catch(() => {
		throw notFound(`No channel "${channelId}".`, 'channelId');
	});
	if (!channel.enabled) throw badInput(`Channel "${channelId}" is disabled.`, 'channelId');
	const body = input.templateId !== undefined ? (await getTemplate(input.templateId)).body : input.content!;
	const q = sql();
	if (input.scheduleAt) {
		const [row] = await q<{ past: boolean }[]>`select ${input.scheduleAt}::timestamptz <= clock_timestamp() as past`;
		if (row.past) throw badInput('scheduleAt must be in the future.', 'scheduleAt');
	}

	const occurrences = [...body.matchAll(PLACEHOLDER)].map((m) => ({ key: m[1], def: m[2]?.trim() }));
	const keys = [...new Set(occurrences.map((o) => o.key))];
	const required = new Set(occurrences.filter((o) => o.def === undefined).map((o) => o.key));
	const valueOf = (k: string): Fragment =>
		k === 'name' ? q`c.name` : k === 'phone' ? q`c.phone_e164` : q`(c.attributes ->> ${k})`;

	// From: every target (ids: distinct, a left join so missing ids count); recipient: not missing, not opted out.
	const ids = input.contactIds ? [...new Set(input.contactIds)] : null;
	const from = ids
		? q`from unnest(${ids}::bigint[]) as t(id) left join contacts c on c.id = t.id`
		: q`from contacts c where ${contactWhere(input.filter!)}`;
	const isRecipient = q`c.id is not null and c.opted_out_at is null`;
	const gsm = nonGsmPattern();
	const perVar = keys.map((k, i) => {
		const v = valueOf(k);
		const empty = q`coalesce(trim(${v}), '') = ''`;
		return q`,
			count(*) filter (where ${isRecipient} and ${empty})::int as ${q('m' + i)},
			coalesce(max(length(${v})) filter (where ${isRecipient}), 0)::int as ${q('l' + i)},
			coalesce(bool_or(${v} ~ ${gsm}) filter (where ${isRecipient}), false) as ${q('u' + i)}`;
	});
	const [agg] = await q<Record<string, number | boolean>[]>`
		select count(*) filter (where ${isRecipient})::int as recipients,
			count(*) filter (where c.id is null)::int as missing,
			count(*) filter (where c.opted_out_at is not null)::int as opted_out
			${perVar.length ? perVar.reduce((a, f) => q`${a} ${f}`) : q``}
		${from}`;
	const stats = new Map<string, VarStats>(
		keys.map((k, i) => [k, { missing: agg['m' + i] as number, maxLen: agg['l' + i] as number, nonGsm: agg['u' + i] as boolean }])
	);

	const recipients = agg.recipients as number;
	const missingVariables: Record<string, number> = {};
	for (const k of keys) {
		const n = stats.get(k)!.missing;
		if (required.has(k) && k !== 'phone' && n > 0) missingVariables[k] = n;
	}

	const sampleFrom = ids
		? q`from contacts c where c.id = any(${ids}::bigint[]) and c.opted_out_at is null`
		: q`from contacts c where ${contactWhere(input.filter!)} and c.opted_out_at is null`;
	const rows = await q<{ id: number; phone: string; name: string | null; attributes: Record<string, unknown> }[]>`
		select c.id::float8 as id, c.phone_e164 as phone, c.name, c.attributes ${sampleFrom} order by c.id limit ${SAMPLES}`;
	const samples = rows.map((c) => ({ contactId: c.id, phone: c.phone, text: render(body, c).text }));

	// The longest render: each placeholder at its longest value (or its default, when longer).
	let ucs2 = !isGsm7(body.replace(PLACEHOLDER, ''));
	const longest = body.replace(PLACEHOLDER, (_m, key: string, def: string | undefined) => {
		const s = stats.get(key)!;
		const d = def?.trim() ?? '';
		if (s.nonGsm || !isGsm7(d)) ucs2 = true;
		return 'x'.repeat(Math.max(s.maxLen, d.length));
	});
	const segments = smsSegments(longest, ucs2 ? 'UCS-2' : 'GSM-7');

	let etaMs = estimateDurationMs(recipients, {
		ratePerMinute: input.ratePerMinute ?? null,
		jitterMs: input.jitterMs ?? null,
		channelRatePerSecond: channel.ratePerSecond ? channel.ratePerSecond * CAP_SHARE : null
	});

	// Quiet hours: the recipients inside their window now (at the scheduled start, if any)
	// and the last of its ends, by the same rules a send holds them (send/quiet.ts).
	const quietHours = sendWindow(input, channel);
	const window = quietMinutes(quietHours);
	let quiet: { count: number; until: Date | null } | null = null;
	if (window) {
		const zones = zonesSql(q);
		const at = input.scheduleAt ? q`${input.scheduleAt}::timestamptz` : q`now()`;
		const until = quietUntilSql(q, q`d.zones`, q`${window.start}::int`, q`${window.end}::int`, at);
		const targets = ids
			? q`from unnest(${ids}::bigint[]) as t(id) join contacts c on c.id = t.id where c.opted_out_at is null`
			: q`from contacts c where ${contactWhere(input.filter!)} and c.opted_out_at is null`;
		// Recipients per distinct set of zones, each set judged once (as send/create.ts does).
		const [r] = await q<{ count: number; until: Date | null; wait_ms: number | null }[]>`
			with ${zones.ctes} x as (select ${zones.expr} as zones, count(*)::int as n ${targets} group by 1),
			d as (select d.n, ${until} as until from x d)
			select coalesce(sum(n) filter (where until is not null), 0)::int as count, max(until) as until,
				(extract(epoch from max(until) - ${at}) * 1000)::float8 as wait_ms
			from d`;
		quiet = { count: r.count, until: r.until };
		etaMs = quietEtaMs(etaMs, window, r.wait_ms ?? 0);
	}

	return {
		recipients,
		skipped: {
			optedOut: agg.opted_out as number,
			missing: agg.missing as number,
			duplicate: input.contactIds ? input.contactIds.length - ids!.length : 0
		},
		missingVariables,
		samples,
		segments: { parts: segments.parts, encoding: segments.encoding },
		etaMs: Math.round(etaMs),
		/** With quiet hours: the window, and the recipients inside it now (or at scheduleAt) with the last of its ends. */
		quietHours,
		quiet,
		channel: { id: channel.id, name: channel.name, ratePerSecond: channel.ratePerSecond }
	};
}
export type Precheck = Awaited<ReturnType<typeof precheckSend>>;
