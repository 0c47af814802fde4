import type postgres from 'postgres';
import { sql, type Executor } from '../db/client';
import { kindsWith } from './registry';

const ensured = new Set<string>();

/**
 * The channel throughput cap, shared by every worker process: a token bucket in
 * channel_limits, taken under the row lock (SELECT … FOR UPDATE in the same statement
 * as the UPDATE). A caller asks for many tokens in one call, so the lock is taken once
 * per wave or slice, not per message, in one round trip.
 *
 * "N per second" means no 1 s window holds more than N sends. A bucket that holds B
 * tokens and refills at R per second lets B + R through in the worst second (a full
 * bucket, then the refill), so B + R must stay under N: the bucket holds BURST_SHARE of
 * N (at least 1) and refills at REFILL_SHARE of N. The 3% left is for the spread
 * between a grant and its request reaching the provider: on these 2-core machines,
 * loaded, a receiver saw up to 4.4% more in its busiest second than the grants of
 * any second (1 034 and 1 043 at a cap of 1 000 with B + R = 99%), the sender and the
 * receiver both descheduled for tens of milliseconds at a time. Measured before, with
 * a bucket of one second's worth refilled at N: a batch start let 2 N through in its
 * first second. A steady sender therefore reaches at most 95% of the cap.
 */
export const BURST_SHARE = 0.02;
export const REFILL_SHARE = 0.95;

/**
 * Takes up to `want` tokens: `granted` may be fewer (or 0, then `waitMs` is when the
 * next one is due). `fillMs`: how long the bucket takes to fill from empty; a caller
 * that waits for tokens should look again well within it, or tokens overflow unused.
 */
export async function takeTokens(channelId: string, want: number): Promise<{ granted: number; waitMs: number; fillMs: number }> {
	if (want <= 0) return { granted: 0, waitMs: 0, fillMs: 0 };
	await ensureBucket(channelId);
	const ex = sql();
	const [row] = await ex<{ granted: number; refill: number; cap: number }[]>`
		with ${bucketCtes(ex, channelId)},
		upd as (${bucketUpdate(ex, ex`least(${want}::int, (select available from av))`)})
		select least(${want}::int, av.available) as granted, av.refill, av.cap from av, upd`;
	if (!row) {
		ensured.delete(channelId);
		return { granted: want, waitMs: 0, fillMs: 0 };
	}
	return { granted: row.granted, waitMs: bucketWaitMs(row), fillMs: (1000 * row.cap) / row.refill };
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
 * The bucket as CTEs for a statement that takes tokens together with other work (the
 * HTTP window claims items with the tokens it takes, send/http.ts): `cur` locks the
 * row, `av` has `available` (tokens now, refill included), `cap`, `refill` (per second)
 * and `gained`. Pair with bucketUpdate(used) in the same statement.
 */
export function bucketCtes(ex: Executor, channelId: string) {
	// refilled_at advances only by the time the whole tokens credited took, so
	// fractions are not lost; a full bucket restarts the clock.
	return ex`cur as (
			select l.channel_id, l.tokens, ${capacitySql(ex)} as cap, ${refillSql(ex)} as refill,
				floor(greatest(extract(epoch from (clock_timestamp() - l.refilled_at)), 0) * ${refillSql(ex)})::bigint as gained
			from channel_limits l join channels c on c.id = l.channel_id
			where l.channel_id = ${channelId}
			for update of l),
		av as (
			select channel_id, refill, cap, gained, least(cap, tokens + gained)::int as available, (tokens + gained >= cap) as full from cur)`;
}

/** Takes `used` (an expression, at most av.available) from the bucket of bucketCtes. */
export function bucketUpdate(ex: Executor, used: postgres.Fragment) {
	return ex`update channel_limits l set
			tokens = av.available - ${used},
			refilled_at = case when av.full then clock_timestamp() else l.refilled_at + make_interval(secs => av.gained::float8 / av.refill) end
		from av where l.channel_id = av.channel_id
		returning l.tokens`;
}

/** Tokens taken and not used (fewer items than asked for, a stop): back into the bucket, never above its size. */
export async function giveBackTokens(channelId: string, n: number) {
	if (n <= 0) return;
	await sql()`update channel_limits l set tokens = least(${capacitySql()}, l.tokens + ${n}::int)
		from channels c where c.id = l.channel_id and l.channel_id = ${channelId}`;
}

/**
 * The bucket's size and refill rate, from the channel row `c`. A channel that delivers
 * by database write (the sandbox) sends at the grant, with no spread to leave room for:
 * its bucket holds DB_BURST_SHARE (B + R = 100%), which keeps its slices whole (5 000
 * at 100 000/s; with 2%, slices of 2 000 took bench:send from ~24 000 to ~16 000 msg/s).
 */
export const DB_BURST_SHARE = 0.05;
const capacitySql = (ex: Executor = sql()) =>
	ex`greatest(1, floor(greatest(c.rate_per_second, 1) *
		case when c.kind = any(${kindsWith('batchSend')}::text[]) then ${DB_BURST_SHARE}::float8 else ${BURST_SHARE}::float8 end))::int`;
const refillSql = (ex: Executor = sql()) => ex`(greatest(c.rate_per_second, 1) * ${REFILL_SHARE}::float8)`;
