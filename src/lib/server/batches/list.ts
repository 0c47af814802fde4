import { sql as dsql, and, asc, eq, type SQL } from 'drizzle-orm';
import { db } from '../db/client';
import { batchOperations } from '../db/schema';
import { toBatchDto } from './repository';
import type { BatchListInput } from '../../schemas/bulk';

/**
 * batch.list: newest first, with the total for pagination. The page and the count use
 * the (created_at desc, id), (type, created_at desc) and (status, created_at desc)
 * indexes; ties on created_at go by id ascending, the direction of the first index,
 * and `desc nulls last` as drizzle-kit declared them (plain `desc` means nulls first,
 * which the planner cannot serve from these indexes), so a page is an index scan.
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
			.orderBy(dsql`${batchOperations.createdAt} desc nulls last`, asc(batchOperations.id))
			.limit(input.limit)
			.offset(input.offset),
		db()
			.select({ n: dsql<number>`count(*)::int` })
			.from(batchOperations)
			.where(where)
	]);
	return { items: rows.map(toBatchDto), total: count.n, limit: input.limit, offset: input.offset };
}
