/**
 * `npm start` / `npm run dev`: the whole app in one command. Starts the embedded
 * PostgreSQL when DATABASE_URL is unset, migrates, builds when sources changed, then
 * runs the web server and a worker as child processes. Ctrl-C or SIGTERM stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { prepareDatabase } from './database';
import { ensureFirstAdmin } from '../src/lib/server/auth/users';
import { closeDb } from '../src/lib/server/db/client';

const dev = process.argv.includes('--dev');
const log = (line: string) => console.log(line);
const port = Number(process.env.PORT ?? (dev ? 5173 : 3000));

function newestMtime(p: string): number {
	const st = fs.statSync(p);
	if (!st.isDirectory()) return st.mtimeMs;
	let newest = st.mtimeMs;
	for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
	return newest;
}

function buildIsStale(): boolean {
	const stamp = 'build/handler.js';
	if (!fs.existsSync(stamp)) return true;
	const built = fs.statSync(stamp).mtimeMs;
	const inputs = ['src', 'static', 'package.json', 'svelte.config.js', 'vite.config.ts'];
	return inputs.some((p) => fs.existsSync(p) && newestMtime(p) > built);
}

function run(cmd: string, args: string[], name: string, extraEnv: Record<string, string> = {}): ChildProcess {
	const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
	child.on('error', (e) => console.error(`[${name}] ${e.message}`));
	return child;
}

async function main() {
	const pg = await prepareDatabase(log);
	const admin = await ensureFirstAdmin({ email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD });
	await closeDb();

	if (!dev && buildIsStale()) {
		log('[build] building the web app (vite build)…');
		const code = await new Promise<number | null>((resolve) =>
			run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], 'build').on('exit', resolve)
		);
		if (code !== 0) throw new Error('vite build failed');
	}

	const children: ChildProcess[] = [];
	const web = dev
		? run(process.execPath, ['node_modules/vite/bin/vite.js', 'dev', '--port', String(port), '--strictPort'], 'web')
		: run(process.execPath, ['server.js'], 'web', { PORT: String(port) });
	const worker = run(process.execPath, ['--import', 'tsx', 'worker/index.ts'], 'worker');
	children.push(web, worker);

	log('');
	log(`  Batchdesk is up: http://localhost:${port}`);
	if (admin) {
		log(`  Sign in as ${admin.email} with password: ${admin.password}`);
		if (admin.generated) log('  (generated once: change it, or set ADMIN_EMAIL / ADMIN_PASSWORD before the first start)');
	} else {
		log('  Sign in with your account (create one with `npm run user:create`).');
	}
	log('  Ctrl-C stops web, worker and the embedded database.');
	log('');

	let stopping = false;
	const stopAll = async (code: number) => {
		if (stopping) return;
		stopping = true;
		await Promise.all(
			children.map(
				(c) =>
					new Promise<void>((resolve) => {
						if (c.exitCode !== null || c.signalCode !== null) return resolve();
						c.once('exit', () => resolve());
						c.kill('SIGTERM');
						setTimeout(() => c.kill('SIGKILL'), 12_000).unref();
					})
			)
		);
		if (pg?.owned) await pg.stop();
		process.exit(code);
	};
	for (const c of children) {
		c.on('exit', (code, signal) => {
			if (!stopping) {
				console.error(`[start] a child process exited (${signal ?? code}); stopping everything`);
				void stopAll(1);
			}
		});
	}
	process.on('SIGINT', () => void stopAll(0));
	process.on('SIGTERM', () => void stopAll(0));
}

main().catch((e) => {
	console.error('[start] failed:', e instanceof Error ? e.message : e);
	process.exit(1);
});
