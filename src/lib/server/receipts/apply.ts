import type postgres from 'postgres';
import type { Executor } from '../db/client';
import type { Receipt } from './types';

/**
 * How far a delivery state is along, the only direction an item moves in:
 * nothing (0) < undelivered = failed (1) < delivered (2) < read (3).
 *
 * - read after delivered, or before it (receipts arrive in any order): read, counted
 *   once as delivered and once as read. Meta does not even send `delivered` when a
 *   message is read at once; read implies delivered.
 * - delivered or read after undelivered/failed: the later proof of arrival wins (a
 *   carrier's late DLR, WhatsApp on a second device). The item leaves the undelivered
 *   count for the delivered one. The other way round, undelivered/failed after
 *   delivered, changes nothing: a message that arrived stays arrived.
 * - undelivered and failed are the same rank: the first one received stays, with its code.
 * - a repeated receipt is not a move forward, so it changes nothing and counts nothing.
 */
export function rankSql(ex: Executor, state: postgres.Fragment) {
	return ex`case ${state} when 'read' then 3 when 'delivered' then 2 when 'undelivered' then 1 when 'failed' then 1 else 0 end`;
}

export type Applied = {
	/** Batches whose counters changed (for a live update). */
	batchIds: string[];
	/** Items whose delivery changed. */
	changed: number;
	/** Message ids no item of these channels was sent as (yet: see parked.ts). */
	unmatched: string[];
};

/**
 * Applies receipts in one statement: the items' delivery and their batches' counters
 * move together, so delivered/read/undelivered counts always equal what the items say.
 * `channelIds` bounds what the receipts may touch: a receipt signed with one channel's
 * secret speaks for the messages sent through the channels holding that secret, never
 * for another channel's.
 */
export async function applyReceipts(ex: Executor, channelIds: string[], receipts: Receipt[]): Promise<Applied> {
	if (receipts.length === 0) return { batchIds: [], changed: 0, unmatched: [] };
	const [row] = await ex<{ batchIds: string[]; changed: number; unmatched: string[] }[]>`
		with incoming as (
			-- One receipt per message: the furthest state this request carries for it (a
			-- WhatsApp body may hold delivered and read of one message).
			select distinct on (r.message_id) r.message_id, r.delivery, r.code, ${rankSql(ex, ex`r.delivery`)} as reach
			from unnest(${receipts.map((r) => r.messageId)}::text[], ${receipts.map((r) => r.delivery)}::text[],
				${receipts.map((r) => r.code ?? '')}::text[]) as r(message_id, delivery, code)
			order by r.message_id, reach desc
		),
		locked as (
			-- The items those messages were sent as, in these channels' batches only, where
			-- the receipt moves the item forward. FOR UPDATE waits for a concurrent receipt
			-- of the same item and re-checks the condition on the row it committed, so two
			-- receipts cannot both count one item. Taken in id order: concurrent requests
			-- queue on each other instead of deadlocking.
			select i.id, i.batch_id, i.delivery as old, n.delivery as new, nullif(n.code, '') as code
			from incoming n
			join batch_items i on i.provider_message_id = n.message_id
			join batch_operations b on b.id = i.batch_id
			where b.channel_id = any(${channelIds}::text[])
				and n.reach > ${rankSql(ex, ex`i.delivery`)}
			order by i.id
			for update of i
		),
		changed as (
			-- Each item set once per state; delivery_at is when we learned it. updated_at
			-- stays the send's: the batch page's rate counts items sent in the last minute by it.
			update batch_items i set
				delivery = l.new,
				delivery_code = l.code,
				delivery_at = now()
			from locked l
			where i.id = l.id
			returning i.batch_id, l.old, l.new
		),
		counted as (
			-- What the moves add to each batch: an item counts once, at its furthest state
			-- (read is also delivered); leaving undelivered/failed for delivered leaves
			-- the undelivered count.
			select batch_id,
				sum((coalesce(new in ('delivered', 'read'), false))::int - (coalesce(old in ('delivered', 'read'), false))::int)::int as delivered,
				sum((coalesce(new = 'read', false))::int - (coalesce(old = 'read', false))::int)::int as read,
				sum((coalesce(new in ('undelivered', 'failed'), false))::int - (coalesce(old in ('undelivered', 'failed'), false))::int)::int as undelivered,
				count(*)::int as n
			from changed
			group by batch_id
		),
		bumped as (
			-- The counters, in the statement that moved the items they count. updated_at
			-- stays: it is the run's, and receipts keep coming for days after a batch ends.
			update batch_operations b set
				delivered_count = b.delivered_count + c.delivered,
				read_count = b.read_count + c.read,
				undelivered_count = b.undelivered_count + c.undelivered
			from counted c
			where b.id = c.batch_id
			returning b.id, c.n
		)
		select
			(select coalesce(array_agg(id::text), '{}') from bumped) as "batchIds",
			(select coalesce(sum(n), 0)::int from bumped) as changed,
			-- Ids with no item at all in these channels (not those already at or past the receipt).
			(select coalesce(array_agg(n.message_id), '{}') from incoming n
				where not exists (
					select 1 from batch_items i join batch_operations b on b.id = i.batch_id
					where i.provider_message_id = n.message_id and b.channel_id = any(${channelIds}::text[]))
			) as unmatched`;
	return row;
}
