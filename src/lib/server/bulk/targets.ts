import { sql } from '../db/client';
import { contactWhere, requireOneTarget } from '../contacts/filter';
import type { ContactFilter } from '../../schemas/targets';

/**
 * How many existing contacts a target selects right now: the exact number a
 * confirmation dialog shows before a TAG or DELETE batch is created.
 */
export async function countTargets(input: { contactIds?: number[]; filter?: ContactFilter }): Promise<number> {
	requireOneTarget(input);
	const q = sql();
	const where = input.contactIds ? q`c.id = any(${[...new Set(input.contactIds)]}::bigint[])` : contactWhere(input.filter!);
	const [row] = await q<{ n: number }[]>`select count(*)::int as n from contacts c where ${where}`;
	return row.n;
}
