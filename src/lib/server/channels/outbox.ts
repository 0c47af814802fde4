import { sql } from '../db/client';

/** The sandbox outbox, newest first, with the total for paging. */
export async function listOutbox(input: { batchId?: string; search?: string; limit: number; offset: number }) {
	const batchId = input.batchId ?? null;
	const like = input.search ? `%${input.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
	const rows = await sql()<{ id: number; channelId: string; batchId: string | null; itemId: number | null; toPhone: string; body: string; idempotencyKey: string; createdAt: string }[]>`
		select id::int as id, channel_id as "channelId", batch_id as "batchId", item_id::int as "itemId", to_phone as "toPhone", body,
			idempotency_key as "idempotencyKey", created_at as "createdAt"
		from outbox
		where (${batchId}::uuid is null or batch_id = ${batchId}::uuid) and (${like}::text is null or to_phone like ${like} or body ilike ${like})
		order by created_at desc, id desc limit ${input.limit} offset ${input.offset}`;
	const [c] = await sql()<{ n: number }[]>`select count(*)::int as n from outbox
		where (${batchId}::uuid is null or batch_id = ${batchId}::uuid) and (${like}::text is null or to_phone like ${like} or body ilike ${like})`;
	return { rows, total: c.n };
}
