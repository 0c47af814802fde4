/**
 * The production web server for end-to-end tests: builds the app when build/ is
 * missing or older than its sources, then runs `node server.js` (adapter-node's
 * handler plus the ws upgrade) on a free port against this test file's database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { ensureBuild } from '../../scripts/lib/build-when-stale';
import { freePort } from '../../scripts/lib/free-port';
export { freePort, ensureBuild };

const ROOT = path.resolve(import.meta.dirname, '../..');



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
