import { sql } from '../src/lib/server/db/client';
import { waitFor, type userCaller } from './helpers';

export type Call = Awaited<ReturnType<typeof userCaller>>['call'];

/** The batch once it has ended (COMPLETED, FAILED or CANCELLED). */
export async function finished(call: Call, batchId: string, timeoutMs = 30_000) {
	return waitFor(
		async () => {
			const s = await call.batch.status({ batchId });
			return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(s.status) ? s : null;
		},
		timeoutMs,
		20
	);
}

export type ContactRow = {
	id: number;
	phone: string;
	name: string | null;
	tags: string[];
	attributes: Record<string, string>;
	optedOut: boolean;
};

/** Contacts by phone, as a reader of the table sees them. */
export async function contactsByPhone(phones: string[]): Promise<Map<string, ContactRow>> {
	const rows = await sql()<ContactRow[]>`
		select id::float8 as id, phone_e164 as phone, name, tags, attributes, opted_out_at is not null as "optedOut"
		from contacts where phone_e164 = any(${phones}::text[])`;
	return new Map(rows.map((r) => [r.phone, r]));
}

/** The refused / skipped rows an UNDO batch lists (its batch_items). */
export async function undoItems(call: Call, batchId: string) {
	const page = await call.batch.items({ batchId, limit: 200, offset: 0 });
	return page.items.map((i) => ({ contactId: i.contactId, phone: i.phone, status: i.status, errorCode: i.errorCode, errorMessage: i.errorMessage }));
}
