import { sql } from '../db/client';

const ensured = new Set<string>();

/**
 * The channel throughput cap, shared by every worker process: a token bucket in
 * channel_limits, refilled at rate_per_second up to one second's worth, taken under
 * the row lock (SELECT … FOR UPDATE in the same statement as the UPDATE). A slice
 * asks for many tokens in one call, so the lock is taken once per slice, not per
 * message, in one round trip.
 */
export async function takeTokens(channelId: string, want: number): Promise<{ granted: number; waitMs: number }> {
	if (want <= 0) return { granted: 0, waitMs: 0 };
	if (!ensured.has(channelId)) {
		await sql()`insert into channel_limits (channel_id, tokens, refilled_at)
			select id, rate_per_second, now() from channels where id = ${channelId}
			on conflict (channel_id) do nothing`;
		ensured.add(channelId);
	}
	// refilled_at advances only by the time the whole tokens credited took, so
	// fractions are not lost; a full bucket restarts the clock.
	const [row] = await sql()<{ granted: number; rate: number }[]>`
		with cur as (
			select l.channel_id, l.tokens, greatest(c.rate_per_second, 1) as rate,
				floor(greatest(extract(epoch from (clock_timestamp() - l.refilled_at)), 0) * greatest(c.rate_per_second, 1))::bigint as gained
			from channel_limits l join channels c on c.id = l.channel_id
			where l.channel_id = ${channelId}
			for update of l),
		av as (
			select channel_id, rate, gained, least(rate, tokens + gained)::int as available, (tokens + gained >= rate) as full from cur)
		update channel_limits l set
			tokens = av.available - least(${want}::int, av.available),
			refilled_at = case when av.full then clock_timestamp() else l.refilled_at + make_interval(secs => av.gained::float8 / av.rate) end
		from av where l.channel_id = av.channel_id
		returning least(${want}::int, av.available) as granted, av.rate`;
	if (!row) {
		ensured.delete(channelId);
		return { granted: want, waitMs: 0 };
	}
	return { granted: row.granted, waitMs: row.granted > 0 ? 0 : Math.ceil(1000 / row.rate) };
}
