import { sql as dsql, and, desc, eq, type SQL } from 'drizzle-orm';
import { db } from '../db/client';
import { batchOperations } from '../db/schema';
import { toBatchDto, type BatchRow } from './repository';
import type { BatchListInput } from '../../schemas/bulk';

/**
 * batch.list: newest first, with the total for pagination. The page and the count use
 * the (created_at desc, id), (type, created_at desc) and (status, created_at desc)
 * indexes; with both type and status the status index narrows first.
 */
export async function listBatches(input: BatchListInput) {
	const conds: SQL[] = [];
	if (input.type) conds.push(eq(batchOperations.type, input.type));
	if (input.status) conds.push(eq(batchOperations.status, input.status));
	const where = conds.length ? and(...conds) : undefined;
	const [rows, [count]] = await Promise.all([
		db()
			.select()
			.from(batchOperations)
			.where(where)
			.orderBy(desc(batchOperations.createdAt), desc(batchOperations.id))
			.limit(input.limit)
			.offset(input.offset),
		db()
			.select({ n: dsql<number>`count(*)::int` })
			.from(batchOperations)
			.where(where)
	]);
	return { items: (rows as BatchRow[]).map(toBatchDto), total: count.n, limit: input.limit, offset: input.offset };
}
