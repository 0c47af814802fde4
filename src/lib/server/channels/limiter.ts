import type postgres from 'postgres';
import { sql, type Executor } from '../db/client';
import { kindsWith } from './registry';

const ensured = new Set<string>();

/**
 * The channel throughput cap, shared by every worker process, kept in the channel's
 * channel_limits row and taken under its row lock (SELECT … FOR UPDATE in the same
 * statement as the UPDATE). A caller asks for many tokens in one call, so the lock is
 * taken once per wave or slice, not per message, in one round trip.
 *
 * "N per second" means no 1 s window holds more than N sends. Two parts:
 * - A ledger of the grants of the last second or so (when, how many), which grants
 *   nothing that would put more than N in any window of LEDGER_WINDOW_MS: exact, and it
 *   loses nothing when a caller comes back late (a token bucket of a few ms' worth
 *   overflows while a loaded machine oversleeps: measured, a lane reached 925/s where
 *   the bucket refilled at 950).
 * - A small token bucket refilled at N, which spreads the grants out instead of letting
 *   a second's worth go at once (a batch start would hit the provider with all of it).
 *   It holds BURST_SHARE of N, 50 ms of sending: a caller that oversleeps its wait by
 *   tens of milliseconds on a loaded machine finds its tokens still there (with 2%, 20
 *   ms at 1 000/s, they overflowed and a lane reached 896/s of the ledger's 952).
 * A request reaches an HTTP provider a little after its grant, and not always equally
 * little: on these 2-core machines, loaded, the sender is descheduled for tens of
 * milliseconds at a time, so requests granted over 1 s + that delay can land in one of
 * the receiver's seconds (measured: 1 008 and 1 043 in the receiver's busiest second
 * with at most 970 and 990 granted in any second). So for providers reached over HTTP the ledger's
 * window is 1 s + SPREAD_MS: no 1.05 s holds more than N grants, a steady sender gets
 * N / 1.05 (952 at 1 000/s; it was 95% of N with the bucket alone, which lost more to
 * overflow), and the receiver's second holds at most N while the delay stays under
 * SPREAD_MS. A channel that delivers by database write (the sandbox) sends at the grant:
 * its window is 1 s exactly.
 */
export const BURST_SHARE = 0.05;
export const REFILL_SHARE = 1;
export const SPREAD_MS = 50;

/**
 * Takes up to `want` tokens: `granted` may be fewer (or 0, then `waitMs` is when the
 * next one is due). `fillMs`: how long the bucket takes to fill from empty; a caller
 * that waits for tokens should look again well within it, or tokens overflow unused.
 */
export async function takeTokens(channelId: string, want: number): Promise<{ granted: number; waitMs: number; fillMs: number; atMs?: number }> {
	if (want <= 0) return { granted: 0, waitMs: 0, fillMs: 0 };
	await ensureBucket(channelId);
	const ex = sql();
	const [row] = await ex<{ granted: number; refill: number; cap: number; ledger_wait_ms: number; now_ms: number }[]>`
		with ${bucketCtes(ex, channelId)},
		upd as (${bucketUpdate(ex, ex`least(${want}::int, (select available from av))`)})
		select least(${want}::int, av.available) as granted, av.refill, av.cap, av.ledger_wait_ms, av.now_ms from av, upd`;
	if (!row) {
		ensured.delete(channelId);
		return { granted: want, waitMs: 0, fillMs: 0 };
	}
	return {
		granted: row.granted,
		waitMs: Math.max(bucketWaitMs(row), Math.ceil(row.ledger_wait_ms)),
		fillMs: (1000 * row.cap) / row.refill,
		// When the ledger entered the grant (database clock, ms).
		atMs: row.now_ms
	};
}

/** Creates the channel's bucket row once per process (full). */
export async function ensureBucket(channelId: string) {
	if (ensured.has(channelId)) return;
	await sql()`insert into channel_limits (channel_id, tokens, refilled_at)
		select id, greatest(1, floor(rate_per_second * ${BURST_SHARE}::float8)), now() from channels where id = ${channelId}
		on conflict (channel_id) do nothing`;
	ensured.add(channelId);
}

/** When the next token is due, for a caller that got none. */
export function bucketWaitMs(row: { refill: number }) {
	return Math.ceil(1000 / row.refill);
}

/**
 * The bucket and ledger as CTEs for a statement that takes tokens together with other
 * work (the HTTP window claims items with the tokens it takes, send/http-window.ts):
 * `cur` locks the row, `av` has `available` (what may be granted now: the bucket with
 * its refill, within what the ledger leaves), `cap` (the bucket's size), `refill` (per
 * second), `gained` and `ledger_wait_ms` (when the ledger frees its oldest grant, when
 * it is what holds). Pair with bucketUpdate(used) in the same statement.
 */
export function bucketCtes(ex: Executor, channelId: string) {
	// refilled_at advances only by the time the whole tokens credited took, so
	// fractions are not lost; a full bucket restarts the clock. The ledger is read from
	// the locked row itself (a concurrent taker's grants are in the version the lock
	// returns, which a separate table read by this statement's snapshot would miss),
	// and "now" is read once the lock is held.
	return ex`cur as (
			select l.channel_id, l.tokens, ${capacitySql(ex)} as cap, ${refillSql(ex)} as refill,
				floor(greatest(extract(epoch from (clock_timestamp() - l.refilled_at)), 0) * ${refillSql(ex)})::bigint as gained,
				greatest(c.rate_per_second, 1)::bigint as per_window, ${windowMsSql(ex)} as wms, l.grant_at, l.grant_n
			from channel_limits l join channels c on c.id = l.channel_id
			where l.channel_id = ${channelId}
			for update of l),
		ledger as materialized (
			select cur.channel_id, n.now_ms, coalesce(sum(g.n) filter (where g.at > n.now_ms - cur.wms), 0)::bigint as recent,
				min(g.at) filter (where g.at > n.now_ms - cur.wms) as oldest
			from cur cross join lateral (select (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms) n
				left join lateral unnest(cur.grant_at, cur.grant_n) as g(at, n) on true
			group by cur.channel_id, n.now_ms),
		av as (
			select cur.channel_id, cur.refill, cur.cap, cur.gained, cur.wms, cur.grant_at, cur.grant_n, ledger.now_ms,
				least(cur.cap, cur.tokens + cur.gained)::int as bucket,
				greatest(0, least(cur.cap, cur.tokens + cur.gained, cur.per_window - ledger.recent))::int as available,
				(cur.tokens + cur.gained >= cur.cap) as full,
				case when ledger.recent >= cur.per_window then greatest(1, ledger.oldest + cur.wms - ledger.now_ms) else 0 end::float8 as ledger_wait_ms
			from cur join ledger on ledger.channel_id = cur.channel_id)`;
}

/** Takes `used` (an expression, at most av.available) from the bucket of bucketCtes, and enters it in the ledger. */
export function bucketUpdate(ex: Executor, used: postgres.Fragment) {
	// The ledger keeps the grants still inside its window, in order, and this one.
	const kept = (col: postgres.Fragment) =>
		ex`array(select g.${col} from unnest(av.grant_at, av.grant_n) with ordinality as g(at, n, i) where g.at > av.now_ms - av.wms order by g.i)`;
	return ex`update channel_limits l set
			tokens = av.bucket - ${used},
			refilled_at = case when av.full then clock_timestamp() else l.refilled_at + make_interval(secs => av.gained::float8 / av.refill) end,
			grant_at = ${kept(ex`at`)} || case when ${used} > 0 then array[av.now_ms] else '{}'::float8[] end,
			grant_n = ${kept(ex`n`)} || case when ${used} > 0 then array[(${used})::int] else '{}'::int[] end
		from av where l.channel_id = av.channel_id
		returning l.tokens`;
}

/**
 * A wave whose requests went out more than LATE_GRANT_MS after its claim was issued:
 * the sender was descheduled (or the database slow) between the grant and the writes,
 * so the requests reach the provider later than the ledger says, possibly in a second
 * the ledger already considers free. Called right after the writes, this moves the
 * grant's entry to the database's now, which is no earlier than the writes: later
 * grants then count these requests where they landed. Costs a statement only for a late
 * wave (none on a quiet machine).
 */
export const LATE_GRANT_MS = SPREAD_MS / 2;
export async function restampGrant(channelId: string, grantAtMs: number) {
	await sql()`update channel_limits set
			grant_at = array_replace(grant_at, ${grantAtMs}::float8, (extract(epoch from clock_timestamp()) * 1000)::float8)
		where channel_id = ${channelId}`;
}

/**
 * Tokens taken and not used (fewer items than asked for, a stop): back into the bucket,
 * never above its size, and out of the ledger's newest grants. The newest, not
 * necessarily the caller's own: when another taker was granted since, its entry shrinks
 * instead, and for the moment between the two entries' expiries the window counts up to
 * `n` fewer than it would with the caller's entry shrunk (callers give back at a slice's
 * or a paced job's end, rarely while another process is taking).
 */
export async function giveBackTokens(channelId: string, n: number) {
	if (n <= 0) return;
	const ex = sql();
	// take_i = what is left to give back after the grants newer than i gave theirs.
	await ex`update channel_limits l set tokens = least(${capacitySql(ex)}, l.tokens + ${n}::int),
			grant_n = coalesce((
				select array_agg(greatest(0, g.n - greatest(0, least(g.n, ${n}::int - (g.newer_and_this - g.n))))::int order by g.i)
				from (select u.n, u.i, sum(u.n) over (order by u.i desc) as newer_and_this
					from unnest(l.grant_n) with ordinality as u(n, i)) g), '{}')
		from channels c where c.id = l.channel_id and l.channel_id = ${channelId}`;
}

/**
 * The bucket's size and refill rate and the ledger's window, from the channel row `c`.
 * A channel that delivers by database write (the sandbox) sends at the grant, with no
 * spread to leave room for: its bucket holds DB_BURST_SHARE, which keeps its slices
 * whole (5 000 at 100 000/s; with 2%, slices of 2 000 took bench:send from ~24 000 to
 * ~16 000 msg/s), and its ledger's window is 1 s.
 */
export const DB_BURST_SHARE = 0.05;
const capacitySql = (ex: Executor = sql()) =>
	ex`greatest(1, floor(greatest(c.rate_per_second, 1) *
		case when c.kind = any(${kindsWith('batchSend')}::text[]) then ${DB_BURST_SHARE}::float8 else ${BURST_SHARE}::float8 end))::int`;
const refillSql = (ex: Executor = sql()) => ex`(greatest(c.rate_per_second, 1) * ${REFILL_SHARE}::float8)`;
const windowMsSql = (ex: Executor = sql()) =>
	ex`(case when c.kind = any(${kindsWith('batchSend')}::text[]) then 1000 else ${1000 + SPREAD_MS} end)::float8`;
