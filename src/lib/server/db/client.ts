import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema';
import { databaseUrl } from './url';
import { env } from '../env';
import { logger } from '../log';

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
	// Any process with a pool (the web server, scripts) lives through an outage: a lost
	// connection's stray rejection is logged, not fatal. A process that handles those
	// events itself (test runners, the chaos runner) keeps its own handling.
	if (!env().database.underTestRunner && process.listenerCount('unhandledRejection') === 0 && process.listenerCount('uncaughtException') === 0) {
		surviveConnectionLoss(logger.child({ module: 'db' }));
	}
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

/** SQLSTATEs of a server going away or not taking connections (class 08, and 57P01-57P03). */
const LOST_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
/** Node and postgres.js codes of a connection that failed or broke. */
const LOST_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'EPIPE',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EAI_AGAIN',
	'CONNECTION_CLOSED',
	'CONNECTION_ENDED',
	'CONNECTION_DESTROYED',
	'CONNECT_TIMEOUT'
]);

/**
 * Whether an error means the database could not be reached or the connection broke (an
 * outage, a failover, pg_terminate_backend), rather than a statement that failed: such
 * a failure says nothing about the work, which is retried once the database is back.
 * postgres.js, writing to a socket it has just lost, throws a TypeError about reading
 * 'write' of null; pg says "Connection terminated". Causes and aggregates are looked into.
 */
export function isConnectionError(e: unknown, depth = 0): boolean {
	if (!e || typeof e !== 'object' || depth > 4) return false;
	const err = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
	const code = typeof err.code === 'string' ? err.code : '';
	if (LOST_CODES.has(code) || LOST_SQLSTATE.test(code)) return true;
	const message = typeof err.message === 'string' ? err.message : '';
	if (/reading 'write'|Connection terminated|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)|write after end|socket hang up/i.test(message)) return true;
	if (Array.isArray(err.errors) && err.errors.some((x) => isConnectionError(x, depth + 1))) return true;
	return isConnectionError(err.cause, depth + 1);
}

let guarded = false;
/**
 * Keeps a process alive through a database outage: a promise rejected by a lost
 * connection that nobody awaited (a library's unawaited query, e.g. graphile-worker's
 * job completion) is logged instead of ending the process, as Node does by default.
 * Any other unhandled rejection still ends it. `onLost` hears of each one swallowed.
 */
export function surviveConnectionLoss(log: { warn(o: object, m: string): void }, onLost?: (e: unknown) => void) {
	if (guarded) return;
	guarded = true;
	process.on('unhandledRejection', (reason) => {
		if (isConnectionError(reason)) {
			log.warn({ err: reason }, 'database connection lost by a task nobody awaited; carrying on');
			onLost?.(reason);
			return;
		}
		throw reason;
	});
	process.on('uncaughtException', (err) => {
		if (isConnectionError(err)) {
			log.warn({ err }, 'database connection lost (uncaught); carrying on');
			onLost?.(err);
			return;
		}
		// What Node would have done: print and exit with the code for an uncaught exception.
		console.error(err);
		process.exit(1);
	});
}

export { schema };
