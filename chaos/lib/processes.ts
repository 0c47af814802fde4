/**
 * Web and worker child processes for scenarios, started the way production runs them
 * (`node server.js` on a build, `worker/index.ts` under tsx), each in its own process
 * group so a scenario can kill -9 one without touching the others, with the last lines
 * of its stderr kept for a failure's detail, and its RSS readable from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../scripts/lib/free-port';
import { ensureBuild } from '../../scripts/lib/build-when-stale';
import { waitFor } from './scenario';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export type Child = {
	name: string;
	proc: ChildProcess;
	pid: number;
	/** Resolves with the exit once the process has exited. */
	exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	alive(): boolean;
	kill(signal?: NodeJS.Signals): void;
	/** Resident memory in MB now (from /proc), or null once it has exited. */
	rssMb(): number | null;
	/** Its stderr/stdout, last 200 lines. */
	tail(): string[];
	/** Lines of its output matching re (all of the output seen, not just the tail). */
	grep(re: RegExp): string[];
	/** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
	stop(graceMs?: number): Promise<void>;
};

export function spawnChild(name: string, args: string[], env: Record<string, string | undefined>, cwd = ROOT): Child {
	const proc = spawn(process.execPath, args, {
		cwd,
		// The fake providers listen on 127.0.0.1, which channels refuse outside development.
		env: { ...process.env, LOG_FORMAT: 'json', CHANNEL_ALLOW_PRIVATE: '1', ...env },
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true
	});
	const lines: string[] = [];
	const all: string[] = [];
	const keep = (buf: Buffer) => {
		for (const l of buf.toString('utf8').split('\n')) {
			if (!l) continue;
			lines.push(l);
			if (all.length < 50_000) all.push(l);
			if (lines.length > 200) lines.shift();
		}
	};
	proc.stdout!.on('data', keep);
	proc.stderr!.on('data', keep);
	const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
	const alive = () => proc.exitCode === null && proc.signalCode === null;
	const child: Child = {
		name,
		proc,
		pid: proc.pid!,
		exited,
		alive,
		kill: (signal = 'SIGTERM') => {
			if (alive()) proc.kill(signal);
		},
		rssMb: () => rssMbOf(proc.pid!),
		tail: () => [...lines],
		grep: (re) => all.filter((l) => re.test(l)),
		async stop(graceMs = 12_000) {
			if (!alive()) return;
			proc.kill('SIGTERM');
			const t = setTimeout(() => alive() && proc.kill('SIGKILL'), graceMs);
			await exited;
			clearTimeout(t);
		}
	};
	return child;
}

export function rssMbOf(pid: number): number | null {
	try {
		const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
		const m = /VmRSS:\s+(\d+) kB/.exec(status);
		return m ? Number(m[1]) / 1024 : null;
	} catch {
		return null;
	}
}

/** Builds the web app (vite build) when build/ is missing or older than its sources, under the tests' lock. */
export { ensureBuild };

export type Web = Child & { url: string; port: number };

/** `node server.js` on a built app (built first when stale), answering health before it resolves. */
export async function startWeb(opts: { databaseUrl: string; dataDir?: string; env?: Record<string, string>; port?: number }): Promise<Web> {
	await ensureBuild();
	const port = opts.port ?? (await freePort());
	// CHAOS_WEB_NODE_ARGS: node flags for the web process (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof) to see where its time goes.
	const nodeArgs = (process.env.CHAOS_WEB_NODE_ARGS ?? '').split(' ').filter(Boolean);
	const child = spawnChild('web', [...nodeArgs, 'server.js'], {
		DATABASE_URL: opts.databaseUrl,
		PORT: String(port),
		HOST: '127.0.0.1',
		ORIGIN: `http://127.0.0.1:${port}`,
		...(opts.dataDir ? { BATCHDESK_DATA_DIR: opts.dataDir } : {}),
		...opts.env
	});
	const url = `http://127.0.0.1:${port}`;
	await waitFor(
		`web on ${url}`,
		async () => {
			if (!child.alive()) throw new Error(`web exited: ${child.tail().slice(-10).join('\n')}`);
			return (await fetch(`${url}/api/trpc/health`)).ok;
		},
		60_000,
		100
	);
	return Object.assign(child, { url, port });
}

/** A worker process (`worker/index.ts`, with the heap flags `npm start` gives it). */
export function startWorkerProcess(opts: { databaseUrl: string; dataDir?: string; env?: Record<string, string> }): Child {
	return spawnChild('worker', ['--max-old-space-size=192', '--max-semi-space-size=32', '--import', 'tsx', 'worker/index.ts'], {
		DATABASE_URL: opts.databaseUrl,
		...(opts.dataDir ? { BATCHDESK_DATA_DIR: opts.dataDir } : {}),
		...opts.env
	});
}
