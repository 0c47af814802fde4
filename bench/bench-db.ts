/**
 * A throwaway database for a benchmark: on the server of DATABASE_URL when set (a
 * fresh database beside yours, dropped at the end), else on an embedded PostgreSQL
 * started in a temp folder. Migrated. Sets process.env.DATABASE_URL for the app code.
 */
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { freePort } from '../scripts/lib/free-port';
import path from 'node:path';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';

export const log = (...a: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);


export async function benchDatabase(name: string): Promise<{ url: string; cleanup(): Promise<void> }> {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `batchdesk-bench-${name}-`));
	fs.chmodSync(tmp, 0o755);
	let server = process.env.DATABASE_URL;
	let stopPg = async () => {};
	if (!server) {
		const { startEmbedded } = await import('../src/lib/server/db/embedded');
		const port = await freePort();
		log(`starting embedded PostgreSQL on ${port}`);
		const pg = await startEmbedded({ dir: path.join(tmp, 'pg'), port, persistent: false });
		stopPg = () => pg.stop();
		server = pg.url('postgres');
	}
	const db = `bench_${name}_${randomBytes(3).toString('hex')}`;
	const admin = postgres(server, { max: 1, onnotice: () => {} });
	await admin.unsafe(`create database ${db}`);
	const u = new URL(server);
	u.pathname = `/${db}`;
	const url = u.toString();
	process.env.DATABASE_URL = url;
	const { migrateDatabase } = await import('../src/lib/server/db/migrate');
	await migrateDatabase(url);
	return {
		url,
		async cleanup() {
			await admin.unsafe(`drop database if exists ${db} with (force)`).catch(() => {});
			await admin.end({ timeout: 2 });
			await stopPg();
			fs.rmSync(tmp, { recursive: true, force: true });
		}
	};
}

/** SIGTERMs a bench's child processes (web, workers) and waits until each has exited. */
export async function stopChildren(children: ChildProcess[]) {
	for (const c of children) c.kill('SIGTERM');
	await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
}
