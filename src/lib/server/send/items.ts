import { sql } from '../db/client';

export type ItemRow = {
	id: number;
	contactId: number | null;
	phone: string | null;
	name: string | null;
	status: string;
	attempts: number;
	errorClass: string | null;
	errorCode: string | null;
	errorMessage: string | null;
	providerMessageId: string | null;
	/** What the provider's receipts said became of the message (receipts/apply.ts), with its error code. */
	delivery: 'delivered' | 'read' | 'undelivered' | 'failed' | null;
	deliveryCode: string | null;
	notBefore: Date | null;
	updatedAt: Date;
};

/** A page of a batch's ledger, filterable by status and error code (the batch page's table). */
export async function listItems(input: { batchId: string; status?: string; errorCode?: string; limit: number; offset: number }) {
	const status = input.status ?? null;
	const code = input.errorCode ?? null;
	const rows = await sql()<(ItemRow & { total: number })[]>`
		select id::int as id, contact_id::int as "contactId", phone, name, status, attempts, error_class as "errorClass",
			error_code as "errorCode", error_message as "errorMessage", provider_message_id as "providerMessageId",
			delivery, delivery_code as "deliveryCode", not_before as "notBefore", updated_at as "updatedAt", count(*) over ()::int as total
		from batch_items
		where batch_id = ${input.batchId} and (${status}::text is null or status = ${status})
			and (${code}::text is null or coalesce(error_code, error_class) = ${code})
		order by id limit ${input.limit} offset ${input.offset}`;
	const total = rows[0]?.total ?? (input.offset > 0 ? await countItems(input.batchId, status, code) : 0);
	return { items: rows.map(({ total: _t, ...r }) => r), total };
}

async function countItems(batchId: string, status: string | null, code: string | null) {
	const [r] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where batch_id = ${batchId}
		and (${status}::text is null or status = ${status}) and (${code}::text is null or coalesce(error_code, error_class) = ${code})`;
	return r.n;
}

/** Sends per second over the last minute and the time left at that pace (for the batch page). */
export async function sendRate(batchId: string) {
	const [r] = await sql()<{ recent: number; left: number }[]>`
		select count(*) filter (where status in ('sent', 'failed', 'unknown') and updated_at > now() - interval '60 seconds')::int as recent,
			count(*) filter (where status in ('pending', 'sending'))::int as left
		from batch_items where batch_id = ${batchId}`;
	const window = 60;
	const perSecond = r.recent / window;
	return { perSecond, remaining: r.left, etaSeconds: perSecond > 0 ? Math.ceil(r.left / perSecond) : null };
}
