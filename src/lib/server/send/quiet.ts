/**
 * Quiet hours: no send inside a window of the recipient's local time (batch.send
 * `quietHours`, or the channel's default).
 *
 * How it holds, set-based:
 * - At creation each item gets its recipient's zone(s) in `quiet_zones` (zonesSql): the
 *   contact's `timezone` attribute when Postgres knows the name, else the zone of the
 *   number's area where area-zones.ts knows it, else every zone of the number's country
 *   (libphonenumber's region; see phonePrefixZones), else UTC. Fixed then: a contact's zone
 *   edited during the send is not seen.
 * - Every claim statement (sandbox.ts, http.ts, http-window.ts) first takes its
 *   candidates, then HOLDS those inside their window (heldSql: not_before and
 *   quiet_until set to the window's end) and claims only the rest. So the check is made
 *   at the moment of sending, which matters for a paced or long send that reaches a
 *   recipient hours after creation; creation holds those inside their window right away
 *   too, so the batch page shows them at once and lanes do not look at them again.
 * - A held item is an ordinary pending item with a not_before: lanes park until the
 *   earliest (slice.ts finishOrPark), the batch stays PROCESSING, and cancel, pause,
 *   retries and recovery treat it like any other pending item. An item with several
 *   zones waits for the latest end among the zones inside their window at that moment;
 *   if another zone has entered its window by then, the next claim holds it again, so
 *   it goes out only when none of its zones is quiet.
 */
import metadata from 'libphonenumber-js/min/metadata';
import type { Executor, Fragment } from '../db/client';
import { COUNTRY_ZONES } from './country-zones';
import { AREA_ZONES } from './area-zones';
import { quietFromColumns, type QuietHours } from '../../schemas/quiet';
import type { ChannelRow } from '../channels/types';

/** The window a send gets: its own; left out, the channel's default; null: none at all. */
export function sendWindow(input: { quietHours?: QuietHours | null }, channel: ChannelRow): QuietHours | null {
	return input.quietHours === undefined ? quietFromColumns(channel.quietStart, channel.quietEnd) : input.quietHours;
}

const DAY_MS = 86_400_000;

/**
 * A rough duration of a send of `durationMs` sending time with quiet hours: no shorter
 * than the wait of the last recipient held now (`waitMs`), and, for a send longer than
 * the hours outside the window, a window's length more for each such stretch it spans
 * (exact for recipients in one zone, pessimistic for audiences spread over many).
 */
export function quietEtaMs(durationMs: number, window: { start: number; end: number }, waitMs: number): number {
	const quietMs = (((window.end - window.start + 1440) % 1440) * 60_000) % DAY_MS;
	const openMs = DAY_MS - quietMs;
	const spans = openMs > 0 ? Math.floor(durationMs / openMs) : 0;
	return Math.max(durationMs + spans * quietMs, waitMs);
}

/**
 * Where a country's official time is one zone although tzdata lists more: China keeps
 * Beijing time (Xinjiang's landlines have their own entry in area-zones.ts).
 */
const COUNTRY_OVERRIDES: Record<string, string[]> = {
	CN: ['Asia/Shanghai'],
	// Regions libphonenumber knows that zone.tab does not list on their own.
	AC: ['Atlantic/St_Helena'],
	TA: ['Atlantic/St_Helena'],
	XK: ['Europe/Belgrade']
};
const countryZones = (region: string): string[] | undefined => COUNTRY_OVERRIDES[region] ?? COUNTRY_ZONES[region];

let prefixZones: Map<string, string[]> | null = null;

/**
 * Digits after the + (calling code, then area) → zones; the longest matching prefix
 * wins. A calling code maps to its main region's zones. A calling code shared by
 * several regions (+1, +7, +47…): libphonenumber's metadata gives the other regions'
 * leading digits (JM 658|876, KZ 7…), and each 3-digit start of the national number
 * they match gets that region's zones. Regions told apart only by full-number patterns
 * (CA within +1) get theirs from area-zones.ts, whose entries are the most specific and
 * win. (Parsing a sample number for each of the 13 000 starts instead took 1.2 s.)
 */
export function phonePrefixZones(): Map<string, string[]> {
	if (prefixZones) return prefixZones;
	const table = new Map<string, string[]>();
	const raw = metadata as unknown as { country_calling_codes: Record<string, string[]>; countries: Record<string, unknown[]> };
	for (const [cc, regions] of Object.entries(raw.country_calling_codes)) {
		const zones = countryZones(regions[0]);
		if (zones) table.set(cc, zones);
		for (const region of regions.slice(1)) {
			// [10]: the leading digits of the region's national numbers (min metadata's layout, as in contacts/phone.ts).
			const leading = raw.countries[region]?.[10];
			const z = countryZones(region);
			if (typeof leading !== 'string' || !leading || !z) continue;
			const re = new RegExp(`^(?:${leading})`);
			for (let p = 0; p < 1000; p++) {
				const start = String(p).padStart(3, '0');
				if (re.test(start)) table.set(cc + start, z);
			}
		}
	}
	for (const [prefix, zone] of Object.entries(AREA_ZONES)) table.set(prefix, [zone]);
	prefixZones = table;
	return table;
}

/** The zone(s) of a number by the table zonesSql uses, without the timezone attribute (for tests and scripts). */
export function zonesOfPhone(e164: string): string[] {
	const digits = e164.replace(/^\+/, '');
	const table = phonePrefixZones();
	for (let l = Math.min(6, digits.length); l >= 1; l--) {
		const z = table.get(digits.slice(0, l));
		if (z) return z;
	}
	return ['UTC'];
}

/**
 * The zones of each contact, as an expression over `c` (contacts). `ctes` go first in
 * the statement's WITH: `tzj` (the zone names Postgres knows, by their lower case) and
 * `pzj` (the prefix table, each zone checked against them so a name this server's
 * tzdata lacks never reaches `at time zone`), both one jsonb object read once: each
 * row then costs a few key lookups. (As six left joins on the prefix table, the
 * planner misjudged the audience as one row and nested them: 126 million comparisons
 * and 65 s for 100 000 recipients.)
 */
export function zonesSql(ex: Executor) {
	const table = phonePrefixZones();
	const prefixes = [...table.keys()];
	const zones = prefixes.map((p) => table.get(p)!.join(' '));
	const lengths = [...new Set(prefixes.map((p) => p.length))].sort((a, b) => b - a);
	const ctes = ex`
		tzj as materialized (select jsonb_object_agg(lower(name), name) as j from pg_timezone_names),
		pzj as materialized (
			select jsonb_object_agg(k.prefix, k.zs) as j
			from (
				select p.prefix, array_to_string(array(
					select z from unnest(string_to_array(p.zs, ' ')) as z where (select j from tzj) ? lower(z)), ' ') as zs
				from unnest(${prefixes}::text[], ${zones}::text[]) as p(prefix, zs)) k
			where k.zs <> ''),`;
	let byPrefix = ex``;
	for (const l of lengths) byPrefix = ex`${byPrefix} (select j from pzj) ->> substr(c.phone_e164, 2, ${l}::int),`;
	const expr = ex`string_to_array(coalesce((select j from tzj) ->> lower(btrim(c.attributes ->> 'timezone')), ${byPrefix} 'UTC'), ' ')`;
	return { ctes, expr };
}

/**
 * Until when a recipient with `zones` is inside the window [start, end) (minutes after
 * midnight; start > end wraps midnight) at time `at`: the latest window end among the
 * zones inside it then, or null when none is (or there is no window: start null).
 * `(local time) at time zone z` turns the local end back into a moment.
 */
export function quietUntilSql(ex: Executor, zones: Fragment, start: Fragment, end: Fragment, at: Fragment = ex`now()`): Fragment {
	return ex`(
		select max((date_trunc('day', q.lt) + make_interval(mins => ${end})
			+ case when ${start} > ${end} and q.m >= ${start} then interval '1 day' else interval '0 seconds' end) at time zone q.z)
		from (
			select z, l.lt, (extract(hour from l.lt) * 60 + extract(minute from l.lt))::int as m
			-- offset 0: the local time is computed once per zone, not once per use.
			from unnest(${zones}) as z cross join lateral (select ${at} at time zone z as lt offset 0) l) q
		where case when ${start} < ${end} then q.m >= ${start} and q.m < ${end} else q.m >= ${start} or q.m < ${end} end)`;
}

/**
 * The claim statements' hold: of the candidates in CTE `cand` (id, quiet_zones, locked),
 * those inside their window wait until its end. Needs CTE `b` with the batch's
 * quiet_start and quiet_end. The claim then takes `cand` minus `held`.
 */
export function heldSql(ex: Executor): Fragment {
	const until = quietUntilSql(ex, ex`d.zones`, ex`(select quiet_start from b)::int`, ex`(select quiet_end from b)::int`);
	// Each distinct set of zones among the candidates is judged once.
	return ex`
		held as (
			update batch_items i set not_before = h.until, quiet_until = h.until, updated_at = now()
			from (
				select cand.id, u.until
				from cand join (
					select d.zones, ${until} as until
					from (select distinct quiet_zones as zones from cand where quiet_zones is not null) d) u on u.zones = cand.quiet_zones) h
			where i.id = h.id and h.until is not null
			returning i.id)`;
}

/** How many of a batch's recipients wait for their quiet window to end, and until when (the first and the last). */
export async function quietWaiting(ex: Executor, batchId: string) {
	const [r] = await ex<{ count: number; next: Date | null; until: Date | null }[]>`
		select count(*)::int as count, min(quiet_until) as next, max(quiet_until) as until
		from batch_items
		where batch_id = ${batchId} and status = 'pending' and quiet_until > now()`;
	return r;
}
