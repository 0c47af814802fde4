import type postgres from 'postgres';
import { sql, type Executor } from '../db/client';
import { messageKeySql, type OutgoingMessage } from './types';

/**
 * The sandbox's delivery of batch messages: one outbox row per row of `messages`, a
 * query yielding (item_id, phone, body), keyed by each message's idempotency key.
 * Guarantees: a message is in the outbox at most once (the unique key; a re-send after
 * a crash is a no-op, which is what makes the sandbox idempotentResend), and every row
 * of one statement carries the send time `sentAt` (the caller's clock reading). A
 * fragment: the sandbox slice and the paced fast path embed it (as a CTE) in the
 * statement that records the sends, so delivery and ledger commit in one round trip.
 */
export function outboxInsertSql(
	ex: Executor,
	o: { channelId: string; batchId: string; messages: postgres.Fragment; sentAt: postgres.Fragment }
) {
	return ex`
		insert into outbox (channel_id, batch_id, item_id, to_phone, body, idempotency_key, created_at)
		select ${o.channelId}, ${o.batchId}::uuid, m.item_id, m.phone, m.body,
			${messageKeySql(ex, ex`${o.batchId}::text`, ex`m.item_id`)}, ${o.sentAt}
		from (${o.messages}) as m(item_id, phone, body)
		on conflict (idempotency_key) do nothing`;
}

/** One message outside any batch (the sandbox's single-message form); the same key rule. */
export async function insertOutboxMessage(channelId: string, msg: OutgoingMessage, ex: Executor = sql()) {
	await ex`
		insert into outbox (channel_id, to_phone, body, idempotency_key)
		values (${channelId}, ${msg.to}, ${msg.body}, ${msg.idempotencyKey})
		on conflict (idempotency_key) do nothing`;
}

/** The sandbox outbox, newest first, with the total for paging. */
export async function listOutbox(input: { batchId?: string; search?: string; limit: number; offset: number }) {
	const batchId = input.batchId ?? null;
	const like = input.search ? `%${input.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
	const rows = await sql()<{ id: number; channelId: string; batchId: string | null; itemId: number | null; toPhone: string; body: string; idempotencyKey: string; createdAt: Date }[]>`
		select id::int as id, channel_id as "channelId", batch_id as "batchId", item_id::int as "itemId", to_phone as "toPhone", body,
			idempotency_key as "idempotencyKey", created_at as "createdAt"
		from outbox
		where (${batchId}::uuid is null or batch_id = ${batchId}::uuid) and (${like}::text is null or to_phone like ${like} or body ilike ${like})
		order by created_at desc, id desc limit ${input.limit} offset ${input.offset}`;
	const [c] = await sql()<{ n: number }[]>`select count(*)::int as n from outbox
		where (${batchId}::uuid is null or batch_id = ${batchId}::uuid) and (${like}::text is null or to_phone like ${like} or body ilike ${like})`;
	return { rows, total: c.n };
}
