import { sql } from '../db/client';

/**
 * The first contacts (by id) of an explicit id list, with their phones, and how many of
 * the ids exist: what a form shows for a selection instead of internal contact ids.
 */
export async function targetPhones(contactIds: number[], limit = 10) {
	const ids = [...new Set(contactIds)];
	const q = sql();
	const [rows, [count]] = await Promise.all([
		q<{ id: number; phone: string; name: string | null }[]>`
			select id::float8 as id, phone_e164 as phone, name from contacts where id = any(${ids}::bigint[]) order by id limit ${limit}`,
		q<{ n: number }[]>`select count(*)::int as n from contacts where id = any(${ids}::bigint[])`
	]);
	return { count: count.n, contacts: [...rows] };
}
