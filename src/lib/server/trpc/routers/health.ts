import { sql } from '../../db/client';
import { publicProcedure } from '../init';

export const health = publicProcedure.query(async () => {
	const started = Date.now();
	const [row] = await sql()<{ now: string }[]>`select now()::text as now`;
	// drizzle's driver setup makes timestamps arrive as text: convert for a real Date.
	return { ok: true as const, database: { ok: true, latencyMs: Date.now() - started, now: new Date(row.now) } };
});
