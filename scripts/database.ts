import { env, resetEnvCache } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import { disableEmbeddedExitHook, ensureDatabase, startEmbedded, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { databaseUrl, EMBEDDED_DB, embeddedUrl } from '../src/lib/server/db/url';
import { migrateDatabase } from '../src/lib/server/db/migrate';

function loggers(quiet: boolean) {
	const level = quiet && logger.levelVal < logger.levels.values.warn ? 'warn' : logger.level;
	return { log: logger.child({ module: 'db' }, { level }), pgLog: logger.child({ module: 'postgres' }, { level }) };
}

/**
 * Starts (or adopts) the embedded PostgreSQL in the project's data folder, creates the
 * app's database on it and points DATABASE_URL at it, so every child process inherits
 * one setting. Only when DATABASE_URL is unset (callers check).
 */
export async function startAppPostgres({ quiet = false } = {}): Promise<EmbeddedServer> {
	const { log, pgLog } = loggers(quiet);
	// Its exit hooks would call process.exit(0) when the event loop empties, turning a
	// failed script (exitCode 1) into a success; our scripts stop the server themselves.
	disableEmbeddedExitHook();
	const { embeddedDir: dir, embeddedPort: port } = env().database;
	const server = await startEmbedded({
		dir,
		port,
		log: (l) => {
			// graphile-worker probes for its schema before creating it: expected on a fresh database.
			if (/relation "graphile_worker\.migrations" does not exist/.test(l)) return;
			if (/FATAL|PANIC/.test(l)) pgLog.error(l);
			else if (/ERROR/.test(l)) pgLog.warn(l);
			else if (/initialising|reusing|stale/.test(l)) pgLog.info(l);
			else pgLog.debug(l);
		}
	});
	await ensureDatabase(port, EMBEDDED_DB);
	process.env.DATABASE_URL = embeddedUrl(port);
	resetEnvCache();
	log.info({ host: '127.0.0.1', port, dir }, 'embedded PostgreSQL');
	return server;
}

/**
 * With DATABASE_URL, uses that server. Without it, starts (or adopts) the embedded
 * PostgreSQL (see startAppPostgres). Then migrates. `quiet`: warnings and errors only.
 */
export async function prepareDatabase({ quiet = false } = {}): Promise<EmbeddedServer | null> {
	const { log } = loggers(quiet);
	let server: EmbeddedServer | null = null;
	if (!env().database.url) server = await startAppPostgres({ quiet });
	else log.info('using DATABASE_URL');
	await migrateDatabase(databaseUrl());
	log.info('migrations applied');
	return server;
}
