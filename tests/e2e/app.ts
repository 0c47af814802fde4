/**
 * The production web server for end-to-end tests: builds the app when build/ is
 * missing or older than its sources, then runs `node server.js` (adapter-node's
 * handler plus the ws upgrade) on a free port against this test file's database.
 */
import { execFile as execFileCb, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';

import { buildIsStale } from '../../scripts/lib/build-freshness';
import { freePort } from '../../scripts/lib/free-port';
export { freePort };

const execFile = promisify(execFileCb);
const ROOT = path.resolve(import.meta.dirname, '../..');



export async function ensureBuild() {
	if (!buildIsStale(ROOT)) return;
	// A lock, so parallel test runs sharing the checkout do not build over each other.
	const vite = path.join(ROOT, 'node_modules/vite/bin/vite.js');
	const lock = path.join(os.tmpdir(), 'batchdesk-vite-build.lock');
	await execFile('flock', [lock, process.execPath, vite, 'build', '--logLevel', 'warn'], {
		cwd: ROOT,
		timeout: 300_000,
		maxBuffer: 64 * 1024 * 1024
	}).catch((e: { stdout?: string; stderr?: string }) => {
		throw new Error(`vite build failed:\n${e.stdout ?? ''}\n${e.stderr ?? e}`);
	});
}


export type RunningApp = { url: string; output(): string; stop(): Promise<void>; child: ChildProcess };

export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
	await ensureBuild();
	const port = await freePort();
	let out = '';
	const child = spawn(process.execPath, ['server.js'], {
		cwd: ROOT,
		env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (out += d));
	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 30_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`server.js exited (${child.exitCode}):\n${out}`);
		try {
			const res = await fetch(`${url}/api/trpc/health`);
			if (res.ok) break;
		} catch {
			/* not listening yet */
		}
		if (Date.now() > deadline) throw new Error(`server.js did not answer on ${url}:\n${out}`);
		await new Promise((r) => setTimeout(r, 200));
	}
	return {
		url,
		child,
		output: () => out,
		stop: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null || child.signalCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGTERM');
				setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
			})
	};
}
