import { env, resetEnvCache } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import { disableEmbeddedExitHook, ensureDatabase, startEmbedded, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { databaseUrl, EMBEDDED_DB, embeddedUrl } from '../src/lib/server/db/url';
import { migrateDatabase } from '../src/lib/server/db/migrate';

/**
 * With DATABASE_URL, uses that server. Without it, starts (or adopts) the embedded
 * PostgreSQL in the project's data folder and points DATABASE_URL at it, so every
 * child process inherits one setting. Then migrates. `quiet`: warnings and errors only.
 */
export async function prepareDatabase({ quiet = false } = {}): Promise<EmbeddedServer | null> {
	const level = quiet && logger.levelVal < logger.levels.values.warn ? 'warn' : logger.level;
	const log = logger.child({ module: 'db' }, { level });
	const pgLog = logger.child({ module: 'postgres' }, { level });
	let server: EmbeddedServer | null = null;
	if (!env().database.url) {
		// Its exit hooks would call process.exit(0) when the event loop empties, turning a
		// failed script (exitCode 1) into a success; our scripts stop the server themselves.
		disableEmbeddedExitHook();
		const { embeddedDir: dir, embeddedPort: port } = env().database;
		server = await startEmbedded({
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
		// For the child processes (web, worker), and for this one's next env().
		process.env.DATABASE_URL = embeddedUrl(port);
		resetEnvCache();
		log.info({ host: '127.0.0.1', port, dir }, 'embedded PostgreSQL');
	} else {
		log.info('using DATABASE_URL');
	}
	await migrateDatabase(databaseUrl());
	log.info('migrations applied');
	return server;
}
