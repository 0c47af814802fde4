import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema';
import { databaseUrl } from './url';
import { env } from '../env';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;
/**
 * Where a statement runs: the shared pool or an open transaction. Every function that
 * writes takes one, so a caller can put several writes (and the job they need, see
 * jobs/enqueue.ts) into one transaction. Raw SQL is written one way: postgres.js
 * tagged templates typed with the row they return, `ex<Row[]>\`…\``.
 */
export type Executor = postgres.Sql | postgres.TransactionSql;
/** An open transaction (from `transaction()`). */
export type Tx = postgres.TransactionSql;
/** A piece of a statement, built with `sql()` and embedded in another (postgres.js fragments are lazy). */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

type Handles = { sql: Sql; db: Db };

// Kept on globalThis so Vite's dev reloads and the ws server share one pool.
declare global {
	var __batchdeskDb: Handles | undefined;
	var __batchdeskImportSql: Sql | undefined;
}
const g = globalThis;

function open(): Handles {
	const sql = postgres(databaseUrl(), {
		max: env().database.poolMax,
		onnotice: () => {},
		connection: { application_name: env().database.appName }
	});
	const db = drizzle(sql, { schema });
	datesAsDates(sql);
	return { sql, db };
}

/**
 * drizzle makes the client hand timestamps over as strings (it parses its own), which
 * made a raw row's timestamp a string where a builder row's is a Date. Its timestamp
 * columns accept a Date as well (pg-core's PgTimestamp.mapFromDriverValue passes a
 * non-string through), so the client's own Date parsing goes back for timestamptz and
 * timestamp: every path now returns Date, and a Date can be passed as a parameter.
 * `date` columns stay 'YYYY-MM-DD' strings, as drizzle has them.
 */
function datesAsDates(sql: Sql) {
	for (const oid of [1184, 1114]) {
		sql.options.parsers[oid] = (x: string) => new Date(x);
		sql.options.serializers[oid] = (x: Date | string) => (x instanceof Date ? x : new Date(x)).toISOString();
	}
}

function handles(): Handles {
	g.__batchdeskDb ??= open();
	return g.__batchdeskDb;
}

/** The shared postgres.js client, for set-based SQL and LISTEN. */
export function sql(): Sql {
	return handles().sql;
}

/** The shared drizzle handle, for the query builder outside transactions. */
export function db(): Db {
	return handles().db;
}

/**
 * Runs `fn` in one transaction on the shared pool: committed when it resolves, rolled
 * back when it throws. (postgres.js's own `begin` types its result loosely.)
 */
export function transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
	return sql().begin(fn) as Promise<T>;
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
		connection: { application_name: `${env().database.appName}-import` }
	});
	return g.__batchdeskImportSql;
}

export function importLanes(): number {
	return env().imports.lanes;
}

export async function closeDb() {
	const h = g.__batchdeskDb;
	const i = g.__batchdeskImportSql;
	g.__batchdeskDb = undefined;
	g.__batchdeskImportSql = undefined;
	await Promise.all([h?.sql.end({ timeout: 5 }), i?.end({ timeout: 5 })]);
}

export { schema };
