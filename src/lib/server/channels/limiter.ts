import { sql } from '../db/client';

/**
 * The channel throughput cap, shared by every worker process: a token bucket in
 * channel_limits, refilled at rate_per_second up to one second's worth, taken
 * under the row lock. A slice asks for many tokens in one call, so the lock is
 * taken once per slice, not per message.
 */
export async function takeTokens(channelId: string, want: number): Promise<{ granted: number; waitMs: number }> {
	if (want <= 0) return { granted: 0, waitMs: 0 };
	return sql().begin(async (tx) => {
		await tx`insert into channel_limits (channel_id, tokens, refilled_at)
			select id, rate_per_second, now() from channels where id = ${channelId}
			on conflict (channel_id) do nothing`;
		const [row] = await tx<{ tokens: number; elapsed: number; rate: number }[]>`
			select l.tokens, extract(epoch from (clock_timestamp() - l.refilled_at))::float8 as elapsed, c.rate_per_second as rate
			from channel_limits l join channels c on c.id = l.channel_id
			where l.channel_id = ${channelId} for update of l`;
		if (!row) return { granted: want, waitMs: 0 };
		const rate = Math.max(1, row.rate);
		const capacity = rate; // one second of burst
		const gained = Math.floor(Math.max(0, row.elapsed) * rate);
		const full = row.tokens + gained >= capacity;
		const available = Math.min(capacity, row.tokens + gained);
		const granted = Math.min(want, available);
		// Advance refilled_at only by the time the whole tokens we credited took, so
		// fractions are not lost; a full bucket restarts the clock.
		const advanceSec = full ? null : gained / rate;
		await tx`update channel_limits set tokens = ${available - granted},
			refilled_at = case when ${advanceSec}::float8 is null then clock_timestamp()
				else refilled_at + make_interval(secs => ${advanceSec ?? 0}::float8) end
			where channel_id = ${channelId}`;
		const waitMs = granted > 0 ? 0 : Math.ceil(1000 / rate);
		return { granted, waitMs };
	});
}
