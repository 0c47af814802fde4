import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { runMigrations } from 'graphile-worker';
import path from 'node:path';
import { graphileLogger } from '../jobs/graphile-logger';

/** Applies our drizzle migrations and graphile-worker's own schema. Safe to run concurrently. */
export async function migrateDatabase(url: string, migrationsFolder = path.resolve('drizzle')) {
	const sql = postgres(url, { max: 1, onnotice: () => {} });
	try {
		// Several processes may start at once against one DATABASE_URL: serialise them.
		await sql`select pg_advisory_lock(7243001)`;
		try {
			await migrate(drizzle(sql), { migrationsFolder });
			await runMigrations({ connectionString: url, logger: graphileLogger() });
		} finally {
			await sql`select pg_advisory_unlock(7243001)`;
		}
	} finally {
		await sql.end({ timeout: 5 });
	}
}
