import { env } from '../src/lib/server/env';
import { disableEmbeddedExitHook, ensureDatabase, startEmbedded, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { EMBEDDED_DB, embeddedUrl } from '../src/lib/server/db/url';
import { migrateDatabase } from '../src/lib/server/db/migrate';

/**
 * With DATABASE_URL, uses that server. Without it, starts (or adopts) the embedded
 * PostgreSQL in the project's data folder and points DATABASE_URL at it, so every
 * child process inherits one setting. Then migrates.
 */
export async function prepareDatabase(log: (line: string) => void): Promise<EmbeddedServer | null> {
	let server: EmbeddedServer | null = null;
	if (!process.env.DATABASE_URL) {
		// Its exit hooks would call process.exit(0) when the event loop empties, turning a
		// failed script (exitCode 1) into a success; our scripts stop the server themselves.
		disableEmbeddedExitHook();
		const { embeddedDir: dir, embeddedPort: EMBEDDED_PG_PORT } = env().database;
		server = await startEmbedded({
			dir,
			port: EMBEDDED_PG_PORT,
			log: (l) => {
				// graphile-worker probes for its schema before creating it: expected on a fresh database.
				if (/relation "graphile_worker\.migrations" does not exist/.test(l)) return;
				if (/FATAL|PANIC|ERROR|initialising|reusing|stale/.test(l)) log(`[postgres] ${l}`);
			}
		});
		await ensureDatabase(EMBEDDED_PG_PORT, EMBEDDED_DB);
		process.env.DATABASE_URL = embeddedUrl(EMBEDDED_PG_PORT);
		log(`[db] embedded PostgreSQL on 127.0.0.1:${EMBEDDED_PG_PORT}, data in ${dir}`);
	} else {
		log('[db] using DATABASE_URL');
	}
	await migrateDatabase(process.env.DATABASE_URL);
	log('[db] migrations applied');
	return server;
}
