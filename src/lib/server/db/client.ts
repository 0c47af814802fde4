import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema';
import { databaseUrl } from './url';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

type Handles = { sql: Sql; db: Db };

// Kept on globalThis so Vite's dev reloads and the ws server share one pool.
const g = globalThis as unknown as { __batchdeskDb?: Handles; __batchdeskImportSql?: Sql };

function open(): Handles {
	const sql = postgres(databaseUrl(), {
		max: Number(process.env.DB_POOL_MAX ?? 10),
		onnotice: () => {},
		connection: { application_name: process.env.BATCHDESK_APP_NAME ?? 'batchdesk' }
	});
	return { sql, db: drizzle(sql, { schema }) };
}

function handles(): Handles {
	g.__batchdeskDb ??= open();
	return g.__batchdeskDb;
}

/** The shared postgres.js client, for set-based SQL and LISTEN. */
export function sql(): Sql {
	return handles().sql;
}

/** The shared drizzle handle. */
export function db(): Db {
	return handles().db;
}

/**
 * The import chunk connections of this process (IMPORT_LANES, default 2), apart from
 * the shared pool: chunk statements run for 0.1-0.2 s each and are pipelined, so they
 * queue on these instead of holding pool connections that everything else (live
 * publishes, API calls) needs. Concurrent imports share them: at most IMPORT_LANES
 * chunk statements of this process run at once, which is what the cores can take.
 */
export function importSql(): Sql {
	g.__batchdeskImportSql ??= postgres(databaseUrl(), {
		max: importLanes(),
		idle_timeout: 60,
		onnotice: () => {},
		connection: { application_name: `${process.env.BATCHDESK_APP_NAME ?? 'batchdesk'}-import` }
	});
	return g.__batchdeskImportSql;
}

export function importLanes(): number {
	return Math.max(1, Number(process.env.IMPORT_LANES ?? 2));
}

export async function closeDb() {
	const h = g.__batchdeskDb;
	const i = g.__batchdeskImportSql;
	g.__batchdeskDb = undefined;
	g.__batchdeskImportSql = undefined;
	await Promise.all([h?.sql.end({ timeout: 5 }), i?.end({ timeout: 5 })]);
}

export { schema };
