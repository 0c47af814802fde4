import { sql } from '../../db/client';
import { publicProcedure } from '../init';

export const health = publicProcedure.query(async () => {
	const started = Date.now();
	const [row] = await sql()`select now() as now`;
	return { ok: true as const, database: { ok: true, latencyMs: Date.now() - started, now: row.now as Date } };
});
