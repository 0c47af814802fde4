import { env } from '../env';

/** The embedded server's database when no DATABASE_URL is given. */
export const EMBEDDED_DB = 'batchdesk';
export const EMBEDDED_USER = 'postgres';
export const EMBEDDED_PASSWORD = 'batchdesk';

export function embeddedUrl(port = env().database.embeddedPort, database = EMBEDDED_DB) {
	return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
}

export function databaseUrl(): string {
	return env().database.url ?? embeddedUrl();
}
