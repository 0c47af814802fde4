import { sql as dsql } from 'drizzle-orm';
import { db } from '../db/client';
import { contactFilterSql, requireOneTarget } from '../contacts/filter';
import type { ContactFilter } from '../../schemas/targets';

/**
 * How many existing contacts a target selects right now: the exact number a
 * confirmation dialog shows before a TAG or DELETE batch is created.
 */
export async function countTargets(input: { contactIds?: number[]; filter?: ContactFilter }): Promise<number> {
	requireOneTarget(input);
	const where = input.contactIds
		? dsql`c.id = any(${dsql.param([...new Set(input.contactIds)])}::bigint[])`
		: contactFilterSql(input.filter!);
	const [row] = await db().execute<{ n: number }>(dsql`select count(*)::int as n from contacts c where ${where}`);
	return row.n;
}
