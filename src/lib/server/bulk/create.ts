import { getTableColumns } from 'drizzle-orm';
import { db } from '../db/client';
import { batchOperations, type BatchType } from '../db/schema';
import { enqueue } from '../jobs/enqueue';
import { contactFilterSql, requireOneTarget } from '../contacts/filter';
import { toBatchDto, type BatchRow } from '../batches/repository';
import { publishBatchUpdate } from '../events/publish';
import type { BulkDeleteInput, BulkTagsInput } from '../../schemas/bulk';

export const BULK_TASK = 'bulk:run' as const;

/** What a TAG/DELETE batch keeps as its input: the caller's choice, normalised. */
export type BulkBatchInput = {
	operation?: BulkTagsInput['operation'];
	tags?: string[];
	filter?: BulkTagsInput['filter'];
	contactIds?: number[];
};

/**
 * Creates a TAG or DELETE batch and its job in ONE transaction: a batch never exists
 * without the job that runs it. Explicit ids are de-duplicated and sorted here (they are
 * the frozen target set); a filter is checked now and frozen by the worker when it starts.
 */
async function createBulkBatch(type: BatchType, input: BulkBatchInput, userId: number | null) {
	requireOneTarget(input);
	if (input.filter) contactFilterSql(input.filter); // throws BAD_INPUT for an empty filter
	// A typed-array sort is numeric and ~10x faster than Array#sort with a comparator (1M ids).
	const contactIds = input.contactIds ? Array.from(Float64Array.from(new Set(input.contactIds)).sort()) : undefined;
	const stored: BulkBatchInput = {
		...(input.operation ? { operation: input.operation, tags: input.tags } : {}),
		...(contactIds ? { contactIds } : { filter: input.filter })
	};
	const row = await db().transaction(async (tx) => {
		// Everything but the input comes back: it can hold a million ids, and we have it.
		const { input: _omit, ...columns } = getTableColumns(batchOperations);
		const [batch] = await tx
			.insert(batchOperations)
			.values({ type, input: stored, totalCount: contactIds?.length ?? 0, createdBy: userId })
			.returning(columns);
		await enqueue(BULK_TASK, { batchId: batch.id }, { maxAttempts: 5 }, tx);
		await publishBatchUpdate(batch.id, { statusChange: true, tx });
		return { ...batch, input: stored } as BatchRow;
	});
	return toBatchDto(row);
}

export function createTagBatch(input: BulkTagsInput, userId: number | null) {
	return createBulkBatch('TAG', input, userId);
}

export function createDeleteBatch(input: BulkDeleteInput, userId: number | null) {
	return createBulkBatch('DELETE', input, userId);
}
