import { z } from 'zod';
import { listOffset } from './paging';
import { dateTime } from './text';
import { tagName, targets } from './targets';
import { BATCH_STATUSES, BATCH_TYPES } from '../batch-kinds';

export { BATCH_STATUSES, BATCH_TYPES };

/** One submission of a form or one call of a script: sent again with the same input within 24 h it returns the same batch, with another input it is a CONFLICT. */
export const idempotencyKey = z.string().trim().min(1).max(200, 'idempotencyKey is at most 200 characters').optional();

export const TAG_OPERATIONS = ['add', 'remove', 'set'] as const;
export type TagOperation = (typeof TAG_OPERATIONS)[number];

/** Trimmed, non-empty, at most 64 characters each, duplicates dropped (order kept). */
export const tagList = z
	.array(tagName)
	.min(1, 'Give at least one tag')
	.max(50, 'At most 50 tags at once')
	.transform((tags) => [...new Set(tags)]);

/** batch.tags: contactIds or filter (exactly one), the tags, and what to do with them. */
export const bulkTagsInput = z.object({
	...targets,
	tags: tagList,
	operation: z.enum(TAG_OPERATIONS, { error: 'operation must be one of add, remove, set' }),
	idempotencyKey
});
export type BulkTagsInput = z.infer<typeof bulkTagsInput>;

/** batch.delete: contactIds or filter (exactly one). */
export const bulkDeleteInput = z.object({ ...targets, idempotencyKey });
export type BulkDeleteInput = z.infer<typeof bulkDeleteInput>;

/** batch.list filters. */
export const batchListInput = z.object({
	type: z.enum(BATCH_TYPES).optional(),
	status: z.enum(BATCH_STATUSES).optional(),
	limit: z.coerce.number().int().min(1).max(200, 'limit is at most 200').default(50),
	offset: listOffset
}).prefault({});
export type BatchListInput = z.infer<typeof batchListInput>;

/** batch.stats filters; dates as ISO strings or Date objects. */
export const batchStatsInput = z
	.object({
		type: z.enum(BATCH_TYPES).optional(),
		status: z.enum(BATCH_STATUSES).optional(),
		createdAfter: dateTime('createdAfter').optional(),
		createdBefore: dateTime('createdBefore').optional()
	})
	.refine((v) => !v.createdAfter || !v.createdBefore || v.createdAfter <= v.createdBefore, {
		message: 'createdAfter must not be later than createdBefore',
		path: ['createdAfter']
	})
	.prefault({});
export type BatchStatsInput = z.infer<typeof batchStatsInput>;
