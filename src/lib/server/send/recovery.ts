import { sql } from '../db/client';
import { onDeadWorkers } from '../jobs/recovery';
import { publishBatchUpdate } from '../events/publish';
import { enqueueSlice } from './jobs';

/**
 * Items a dead worker process had in flight (`sending`, claimed by it). With an
 * idempotent channel (sandbox, webhook with Idempotency-Key) a re-send cannot
 * deliver twice, so they go back to pending. Otherwise nobody knows whether the
 * provider got them: they become `unknown` (counted as not delivered) and are not
 * re-sent silently. Then each batch still running gets a slice job again.
 */
export async function releaseDeadClaims(deadProcessIds: string[]) {
	if (deadProcessIds.length === 0) return;
	type Touched = { id: string; rate_per_minute: number | null; status: string };
	const batches: Touched[] = await sql().begin(async (tx) => {
		const rows = await tx<{ batch_id: string; status: string; n: number }[]>`
			with upd as (
				update batch_items i set
					status = case when ch.kind in ('sandbox', 'webhook') then 'pending' else 'unknown' end,
					error_class = case when ch.kind in ('sandbox', 'webhook') then i.error_class else 'unknown' end,
					error_code = case when ch.kind in ('sandbox', 'webhook') then i.error_code else 'worker_died' end,
					error_message = case when ch.kind in ('sandbox', 'webhook') then i.error_message
						else 'The worker died during the send: the provider may or may not have it' end,
					claimed_by = null, claimed_at = null, updated_at = now()
				from batch_operations b left join channels ch on ch.id = b.channel_id
				where b.id = i.batch_id and i.status = 'sending' and i.claimed_by = any(${deadProcessIds}::text[])
				returning i.batch_id, i.status)
			select batch_id, status, count(*)::int as n from upd group by 1, 2`;
		for (const r of rows.filter((r) => r.status === 'unknown')) {
			await tx`update batch_operations set processed_count = processed_count + ${r.n}, failed_count = failed_count + ${r.n},
				updated_at = now() where id = ${r.batch_id}`;
		}
		const ids = [...new Set(rows.map((r) => r.batch_id))];
		if (ids.length === 0) return [];
		const touched = await tx<Touched[]>`
			select id, rate_per_minute, status from batch_operations where id = any(${ids}::uuid[])`;
		return [...touched];
	});
	for (const b of batches) {
		if (b.status === 'PROCESSING') await enqueueSlice({ id: b.id, ratePerMinute: b.rate_per_minute }, { spawn: true });
		await publishBatchUpdate(b.id);
	}
}

let registered = false;
export function registerSendRecovery() {
	if (registered) return;
	registered = true;
	onDeadWorkers(releaseDeadClaims);
}
