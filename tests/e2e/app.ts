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

export type RunningStack = { url: string; output(): string; stop(): Promise<void> };

/**
 * The whole app as users start it: `npm start` (scripts/start.ts) with its embedded
 * PostgreSQL in a fresh data folder, migrations, the first admin, the web server and a
 * worker, supervised. Resolves once it prints "Batchdesk is up". stop() sends SIGTERM to
 * the supervisor (which stops worker, web, then PostgreSQL in order) and removes the folder.
 */
export async function startStack(opts: { admin: { email: string; password: string }; env?: Record<string, string> }): Promise<RunningStack> {
	const fs = await import('node:fs');
	const os = await import('node:os');
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-e2e-'));
	const [port, pgPort] = [await freePort(), await freePort()];
	const env: Record<string, string | undefined> = {
		...process.env,
		BATCHDESK_DATA_DIR: dataDir,
		EMBEDDED_PG_PORT: String(pgPort),
		PORT: String(port),
		HOST: '127.0.0.1',
		ADMIN_EMAIL: opts.admin.email,
		ADMIN_PASSWORD: opts.admin.password,
		// The fake provider listens on 127.0.0.1.
		CHANNEL_ALLOW_PRIVATE: '1',
		LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
		...opts.env
	};
	delete env.DATABASE_URL;
	delete env.ORIGIN;
	let out = '';
	const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (out += d));
	const url = `http://localhost:${port}`;
	const stop = () =>
		new Promise<void>((resolve) => {
			const done = () => {
				fs.rmSync(dataDir, { recursive: true, force: true });
				resolve();
			};
			if (child.exitCode !== null || child.signalCode !== null) return done();
			child.once('exit', done);
			child.kill('SIGTERM');
			setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
		});
	// A first build takes a minute or two on these machines.
	const deadline = Date.now() + 300_000;
	while (!out.includes(`Batchdesk is up: ${url}`)) {
		if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out}`);
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`npm start did not come up on ${url}:\n${out}`);
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	return { url, output: () => out, stop };
}
