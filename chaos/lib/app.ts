/**
 * The whole app as `npm start` runs it (scripts/start.ts: embedded PostgreSQL, web,
 * worker, supervised), in a data folder and on ports of its own, started in its own
 * process group the way a terminal or a service manager would (so a scenario can signal
 * the group). Reads the children's pids from the supervisor's JSON log lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/free-port';
import { EMBEDDED_DB, embeddedUrl } from '../../src/lib/server/db/url';
import { ensureBuild, spawnChild, type Child } from './processes';
import { waitFor } from './scenario';

export type App = {
	supervisor: Child;
	url: string;
	port: number;
	pgPort: number;
	dataDir: string;
	databaseUrl: string;
	/** The current pid of each supervised process (the latest "started" line), or null. */
	pid(kind: 'web' | 'worker' | 'postgres'): number | null;
	/** How many times the supervisor has started this kind of process. */
	starts(kind: 'web' | 'worker' | 'postgres'): number;
	/** The PostgreSQL server's own pid (postmaster), from its pid file. */
	postmasterPid(): number | null;
	/** Sends a signal to the supervisor's whole process group, as Ctrl-C or a service manager does. */
	signalGroup(signal: NodeJS.Signals): void;
	/** Supervisor log lines (parsed JSON) with this message or matching this pattern. */
	logs(re: RegExp): Array<Record<string, unknown>>;
	/** SIGTERM to the group; then removes the data folder unless keepData. */
	stop(opts?: { keepData?: boolean }): Promise<void>;
};

export async function startApp(opts: { dataDir?: string; env?: Record<string, string>; pgPort?: number; port?: number } = {}): Promise<App> {
	// Built before the clock of a scenario starts (npm start would build too, but slowly, inside the start-up).
	await ensureBuild();
	const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-chaos-app-'));
	fs.chmodSync(dataDir, 0o755);
	const port = opts.port ?? (await freePort());
	const pgPort = opts.pgPort ?? (await freePort());
	const supervisor = spawnChild('npm start', ['--import', 'tsx', 'scripts/start.ts'], {
		DATABASE_URL: '',
		BATCHDESK_DATA_DIR: dataDir,
		EMBEDDED_PG_PORT: String(pgPort),
		PORT: String(port),
		HOST: '127.0.0.1',
		LOG_LEVEL: 'info',
		LOG_FORMAT: 'json',
		...opts.env
	});
	const url = `http://127.0.0.1:${port}`;
	const parsed = () =>
		supervisor.grep(/^\{/).flatMap((l) => {
			try {
				return [JSON.parse(l) as Record<string, unknown>];
			} catch {
				return [];
			}
		});
	const started = (kind: string) => parsed().filter((l) => l.module === 'start' && l.process === kind && typeof l.pid === 'number' && /started$/.test(String(l.msg)));
	const app: App = {
		supervisor,
		url,
		port,
		pgPort,
		dataDir,
		// Its password is random, kept beside its data folder (read when asked: a new folder gets it at its first start).
		get databaseUrl() {
			return embeddedUrl(pgPort, EMBEDDED_DB, path.join(dataDir, 'pg'));
		},
		pid: (kind) => (started(kind).at(-1)?.pid as number | undefined) ?? null,
		starts: (kind) => started(kind).length,
		postmasterPid() {
			try {
				const pid = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
				process.kill(pid, 0);
				return pid;
			} catch {
				return null;
			}
		},
		signalGroup(signal) {
			try {
				process.kill(-supervisor.pid, signal);
			} catch {
				/* already gone */
			}
		},
		logs: (re) => parsed().filter((l) => re.test(String(l.msg))),
		async stop({ keepData = false } = {}) {
			if (supervisor.alive()) {
				app.signalGroup('SIGTERM');
				const t = setTimeout(() => supervisor.kill('SIGKILL'), 30_000);
				await supervisor.exited;
				clearTimeout(t);
			}
			if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
		}
	};
	await waitFor(
		`npm start on ${url}`,
		async () => {
			if (!supervisor.alive()) throw new Error(`npm start exited: ${supervisor.tail().slice(-15).join('\n')}`);
			return (await fetch(`${url}/api/trpc/health`)).ok && app.pid('worker') !== null;
		},
		180_000,
		250
	);
	return app;
}

/** Whether a pid is alive (signal 0). */
export function pidAlive(pid: number | null): boolean {
	if (!pid) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}
