import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema';
import { databaseUrl } from './url';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

type Handles = { sql: Sql; db: Db };

// Kept on globalThis so Vite's dev reloads and the ws server share one pool.
const g = globalThis as unknown as { __batchdeskDb?: Handles };

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

export async function closeDb() {
	const h = g.__batchdeskDb;
	g.__batchdeskDb = undefined;
	if (h) await h.sql.end({ timeout: 5 });
}

export { schema };
