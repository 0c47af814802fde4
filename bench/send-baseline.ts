/**
 * The raw baseline of a sandbox send (bench:send, bench:scale): the ledger writes the
 * engine makes, as plain batched SQL on one connection — claim a slice of pending items
 * (SKIP LOCKED), write the outbox rows, mark the items sent, add to the counters.
 */
import type postgres from 'postgres';

export async function rawSend(sql: postgres.Sql, batchId: string, slice: number) {
	for (;;) {
		const n = await sql.begin(async (tx) => {
			const rows = await tx<{ id: string; phone: string }[]>`
				with picked as (select id, contact_id from batch_items where batch_id = ${batchId} and status = 'pending'
					order by id limit ${slice} for update skip locked)
				select p.id, c.phone_e164 as phone from picked p join contacts c on c.id = p.contact_id`;
			if (rows.length === 0) return 0;
			const ids = rows.map((r) => r.id);
			await tx`insert into outbox (channel_id, batch_id, item_id, to_phone, body, idempotency_key)
				select 'sandbox', ${batchId}::uuid, u.id, u.phone, ${'Hello'}, ${batchId} || ':' || u.id
				from unnest(${ids}::bigint[], ${rows.map((r) => r.phone)}::text[]) u(id, phone)
				on conflict (idempotency_key) do nothing`;
			await tx`update batch_items set status = 'sent', attempts = attempts + 1, updated_at = now() where id = any(${ids}::bigint[])`;
			await tx`update batch_operations set processed_count = processed_count + ${rows.length},
				success_count = success_count + ${rows.length} where id = ${batchId}`;
			return rows.length;
		});
		if (n === 0) return;
	}
}
