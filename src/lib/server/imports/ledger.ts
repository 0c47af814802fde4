import { sql } from '../db/client';
import { notFound } from '../errors';
import { getBatchOrThrow } from '../batches/repository';

/** A page of an import's per-row ledger (rows that were not simply created). */
export async function importLedger(input: { batchId: string; outcome?: string; limit: number; offset: number }) {
	const batch = await getBatchOrThrow(input.batchId);
	if (batch.type !== 'IMPORT') throw notFound(`Batch ${input.batchId} is not an import.`, 'batchId');
	const outcome = input.outcome ?? null;
	const rows = await sql()<{ rowNumber: number; outcome: string; reason: string | null; raw: string[] | null; contactId: number | null }[]>`
		select row_number as "rowNumber", outcome, reason, raw, contact_id::float8 as "contactId"
		from import_rows where batch_id = ${input.batchId} and (${outcome}::text is null or outcome = ${outcome})
		order by row_number limit ${input.limit} offset ${input.offset}`;
	return { rows: [...rows] };
}
