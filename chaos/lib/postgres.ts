/**
 * A throwaway embedded PostgreSQL for one scenario (its own folder and port), which a
 * scenario can kill -9 and start again on the same folder and port, and a migrated
 * database on it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort } from '../../scripts/lib/free-port';
import { disableEmbeddedExitHook, startEmbedded, type EmbeddedServer } from '../../src/lib/server/db/embedded';
import { migrateDatabase } from '../../src/lib/server/db/migrate';

export type ChaosPostgres = {
	port: number;
	/** postgres://… of the `postgres` database (for admin statements). */
	serverUrl: string;
	/** The URL of another database on this server. */
	urlOf(database: string): string;
	/** The postmaster's pid (from postmaster.pid), or null when it is not running. */
	pid(): number | null;
	/** kill -9 of the postmaster (its backends die with it). */
	kill9(): Promise<void>;
	/** Starts it again on the same folder and port (after kill9 or stop). */
	restart(): Promise<void>;
	stop(): Promise<void>;
};

/**
 * `dir`: a folder for a new server (its data goes in dir/data; removed by stop()).
 * `dataDir`: an existing server's data folder to run as is (e.g. an app's .data/pg), kept.
 */
export async function startPostgres(opts: { dir?: string; dataDir?: string; port?: number } = {}): Promise<ChaosPostgres> {
	disableEmbeddedExitHook();
	const root = opts.dataDir ? path.dirname(opts.dataDir) : (opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-chaos-pg-')));
	// Reachable by the `postgres` OS user that runs the server under root.
	fs.chmodSync(root, 0o755);
	const dir = opts.dataDir ?? path.join(root, 'data');
	const port = opts.port ?? (await freePort());
	let server: EmbeddedServer | null = await startEmbedded({ dir, port, persistent: true });
	// The password is random and kept beside the data folder: the same after a restart.
	const urlOf = server.url;
	const serverUrl = urlOf('postgres');
	const pid = () => {
		try {
			const p = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
			process.kill(p, 0);
			return p;
		} catch {
			return null;
		}
	};
	return {
		port,
		serverUrl,
		urlOf,
		pid,
		async kill9() {
			const p = pid();
			if (p) process.kill(p, 'SIGKILL');
			for (let i = 0; i < 100 && pid() !== null; i++) await new Promise((r) => setTimeout(r, 50));
			server = null;
		},
		async restart() {
			server = await startEmbedded({ dir, port, persistent: true });
		},
		async stop() {
			await server?.stop().catch(() => {});
			const p = pid();
			if (p) process.kill(p, 'SIGKILL');
			server = null;
			if (!opts.dir && !opts.dataDir) fs.rmSync(root, { recursive: true, force: true });
		}
	};
}

/** Creates (or re-creates) a database on the server and applies the migrations; returns its URL. */
export async function migratedDatabase(pg: ChaosPostgres, name: string): Promise<string> {
	const admin = postgres(pg.serverUrl, { max: 1, onnotice: () => {} });
	try {
		await admin.unsafe(`drop database if exists "${name}" with (force)`);
		await admin.unsafe(`create database "${name}"`);
	} finally {
		await admin.end({ timeout: 2 });
	}
	const url = pg.urlOf(name);
	await migrateDatabase(url);
	return url;
}
