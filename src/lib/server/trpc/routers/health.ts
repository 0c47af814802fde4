import { sql } from '../../db/client';
import { publicProcedure } from '../init';

/** A database that has not answered in this long is treated as away (a dead host may not refuse at once). */
const DB_PROBE_MS = 2_000;

/**
 * `ok` while the database answers; `degraded` (HTTP 200 still: the process itself is
 * up, and recovers by itself when the database is back) while it does not.
 */
export const health = publicProcedure.query(async () => {
	const started = Date.now();
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		const probe = sql()<{ now: Date }[]>`select now() as now`;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`no answer in ${DB_PROBE_MS} ms`)), DB_PROBE_MS);
		});
		const [row] = await Promise.race([probe, timeout]);
		return {
			ok: true,
			status: 'ok' as 'ok' | 'degraded',
			database: { ok: true, latencyMs: Date.now() - started, now: new Date(row.now) as Date | null, error: null as string | null }
		};
	} catch (e) {
		return {
			ok: false,
			status: 'degraded' as 'ok' | 'degraded',
			database: { ok: false, latencyMs: Date.now() - started, now: null as Date | null, error: (e as Error)?.message ?? String(e) }
		};
	} finally {
		clearTimeout(timer);
	}
});
