import fs from 'node:fs';
import path from 'node:path';
import { env } from '../env';

/** The embedded server's database when no DATABASE_URL is given. */
export const EMBEDDED_DB = 'batchdesk';
export const EMBEDDED_USER = 'postgres';
/**
 * The fixed password of data folders made before issue 12. Such a folder is given a
 * random password on its next start (embedded.ts); nothing else connects with this one.
 */
export const LEGACY_EMBEDDED_PASSWORD = 'batchdesk';

/**
 * The embedded server's superuser password lives beside its folder (`.data/pg.password`,
 * mode 600): generated on the first start, never a constant any local user could know.
 */
export function passwordFile(dir: string): string {
	return `${path.resolve(dir)}.password`;
}

export function readEmbeddedPassword(dir: string, file = passwordFile(dir)): string | null {
	try {
		return fs.readFileSync(file, 'utf8').trim() || null;
	} catch {
		return null;
	}
}

export function embeddedUrl(port = env().database.embeddedPort, database = EMBEDDED_DB, dir = env().database.embeddedDir) {
	const password = readEmbeddedPassword(dir) ?? LEGACY_EMBEDDED_PASSWORD;
	return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

export function databaseUrl(): string {
	return env().database.url ?? embeddedUrl();
}
