/**
 * `npm start` / `npm run dev`: the whole app in one command, supervised. Starts the
 * embedded PostgreSQL when DATABASE_URL is unset, migrates, builds when sources changed,
 * then runs the web server and a worker as child processes, and keeps them running:
 * a worker, web server or PostgreSQL that dies is started again (with back-off) and
 * the rest carries on. Everything stops on Ctrl-C / SIGTERM, or when one process keeps
 * failing (RESTART_LIMIT exits within RESTART_WINDOW_MS), in order: workers first
 * (they finish their in-flight sends), then web, then PostgreSQL.
 *
 * Each child runs in a process group of its own (detached): a signal sent to the group
 * of `npm start` (Ctrl-C in a terminal, `kill -- -pgid`, a service manager) reaches only
 * this supervisor, which passes it on in that order. Were the database in the same
 * group, it would stop at the same moment as the worker, whose in-flight sends could
 * then not record their outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIsStale } from './lib/build-freshness';
import { ensureFirstAdmin } from '../src/lib/server/auth/users';
import { closeDb } from '../src/lib/server/db/client';
import { migrateDatabase } from '../src/lib/server/db/migrate';
import { databaseUrl, embeddedUrl } from '../src/lib/server/db/url';
import { env, exitOnInvalidEnv, resetEnvCache } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import { sweepOrphanUploads } from '../src/lib/server/imports/upload';

const dev = process.argv.includes('--dev');
const log = logger.child({ module: 'start' });
/** What a person reads once everything is up (the URL, how to sign in): plain stdout, not a log line. */
const say = (line: string) => console.log(line);

/** A process that fails this many times within the window stops the app (it would only flap). */
const RESTART_LIMIT = 5;
const RESTART_WINDOW_MS = 60_000;
/** Back-off before a restart: 0.5 s, 1 s, 2 s, 4 s, … at most 10 s. */
const backoffMs = (failures: number) => Math.min(10_000, 500 * 2 ** Math.max(0, failures - 1));
/** Exit code of a bad setting (env.ts): restarting cannot help. */
const EX_CONFIG = 78;
/** How long each kind of process gets to stop before SIGKILL (the worker stops itself by 9 s). */
const GRACE_MS = { worker: 10_000, web: 6_000, postgres: 10_000, build: 2_000 } as const;

const EXIT_WITH_PARENT = pathToFileURL(path.join(import.meta.dirname, 'lib/exit-with-parent.js')).href;

type Kind = keyof typeof GRACE_MS;
type Service = {
	kind: Kind;
	/** As log lines name it. */
	label: string;
	args: string[];
	env?: Record<string, string>;
	child: ChildProcess | null;
	/** Times of its unexpected exits within the window. */
	failures: number[];
	restartTimer?: NodeJS.Timeout;
};

const services: Service[] = [];
let stopping = false;
/** Resolves while the embedded PostgreSQL is up (replaced when it dies); null with DATABASE_URL. */
let pgUp: { promise: Promise<void>; resolve: () => void; up: boolean } | null = null;

function newPgUp() {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => (resolve = r));
	pgUp = { promise, resolve, up: false };
}

function launch(svc: Service) {
	const child = spawn(process.execPath, svc.args, {
		env: { ...process.env, ...svc.env },
		// An IPC channel: the child notices when the supervisor dies (scripts/lib/exit-with-parent.js).
		stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		detached: true
	});
	svc.child = child;
	child.on('error', (err) => log.error({ err, process: svc.kind }, `could not run ${svc.label}`));
	child.on('message', (m: { ready?: number }) => {
		if (svc.kind !== 'postgres' || typeof m?.ready !== 'number' || !pgUp) return;
		process.env.DATABASE_URL = embeddedUrl(m.ready);
		resetEnvCache();
		pgUp.up = true;
		pgUp.resolve();
	});
	child.on('exit', (code, signal) => onExit(svc, child, code, signal));
	log.info({ process: svc.kind, pid: child.pid }, `${svc.label} started`);
	return child;
}

function onExit(svc: Service, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) {
	if (svc.child !== child) return;
	svc.child = null;
	if (svc.kind === 'postgres' && pgUp?.up) newPgUp();
	if (stopping) return;
	const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
	if (code === EX_CONFIG) {
		log.error({ process: svc.kind, code }, `${svc.label} ${how}: a setting is invalid; stopping everything`);
		void stopAll(1);
		return;
	}
	const now = Date.now();
	svc.failures = [...svc.failures.filter((t) => now - t < RESTART_WINDOW_MS), now];
	if (svc.failures.length >= RESTART_LIMIT) {
		log.error(
			{ process: svc.kind, code, signal, failures: svc.failures.length },
			`${svc.label} ${how}, its ${svc.failures.length}th failure within ${RESTART_WINDOW_MS / 1000} s; it keeps failing: stopping everything`
		);
		void stopAll(1);
		return;
	}
	const delay = backoffMs(svc.failures.length);
	log.error(
		{ process: svc.kind, code, signal, restartInMs: delay, failures: svc.failures.length },
		`${svc.label} ${how}; restarting it in ${delay / 1000} s (failure ${svc.failures.length} of ${RESTART_LIMIT} allowed within ${RESTART_WINDOW_MS / 1000} s)`
	);
	svc.restartTimer = setTimeout(async () => {
		// Web and worker come back once the database does (their failures while it is down would only count against them).
		if (svc.kind !== 'postgres' && pgUp && !pgUp.up) {
			log.info({ process: svc.kind }, `${svc.label} waits for PostgreSQL before restarting`);
			await pgUp.promise;
		}
		if (stopping) return;
		launch(svc);
		if (svc.kind === 'postgres') {
			await pgUp?.promise;
			if (!stopping) log.info('PostgreSQL is back');
		}
	}, delay);
}

/** SIGTERM, then SIGKILL after the grace period; resolves when the process has exited. */
function stopChild(svc: Service): Promise<void> {
	clearTimeout(svc.restartTimer);
	const child = svc.child;
	if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise<void>((resolve) => {
		const force = setTimeout(() => {
			log.warn({ process: svc.kind, pid: child.pid }, `${svc.label} did not stop within ${GRACE_MS[svc.kind] / 1000} s; killing it`);
			child.kill('SIGKILL');
		}, GRACE_MS[svc.kind]);
		child.once('exit', () => {
			clearTimeout(force);
			resolve();
		});
		child.kill('SIGTERM');
	});
}

/** Workers first (in-flight sends finish while web and database are up), then web, then PostgreSQL. */
async function stopAll(code: number) {
	if (stopping) return;
	stopping = true;
	for (const s of services) clearTimeout(s.restartTimer);
	const of = (...kinds: Kind[]) => services.filter((s) => kinds.includes(s.kind));
	await Promise.all(of('worker', 'build').map(stopChild));
	await Promise.all(of('web').map(stopChild));
	await closeDb().catch(() => {});
	await Promise.all(of('postgres').map(stopChild));
	log.info('stopped');
	process.exit(code);
}

function onSignal(signal: NodeJS.Signals) {
	if (stopping) {
		// A second Ctrl-C: the person does not want to wait.
		log.warn({ signal }, 'stopping at once');
		for (const s of services) s.child?.kill('SIGKILL');
		process.exit(130);
	}
	log.info({ signal }, 'stopping: workers, then web, then PostgreSQL');
	void stopAll(0);
}

/** Waits until the web server answers health, so the printed URL works when it is shown. */
async function waitForWeb(url: string, timeoutMs = 120_000) {
	const end = Date.now() + timeoutMs;
	while (Date.now() < end && !stopping) {
		try {
			if ((await fetch(`${url}/api/trpc/health`)).ok) return true;
		} catch {
			/* not listening yet */
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	return false;
}

function service(kind: Kind, label: string, args: string[], extraEnv?: Record<string, string>): Service {
	const svc: Service = { kind, label, args, env: extraEnv, child: null, failures: [] };
	services.push(svc);
	return svc;
}

/** The embedded PostgreSQL, in its own child process; resolves once it answers (a first failure is fatal). */
async function startPostgres() {
	newPgUp();
	const pg = service('postgres', 'PostgreSQL', ['--import', 'tsx', 'scripts/postgres-process.ts']);
	const child = launch(pg);
	const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
	const first = await Promise.race([pgUp!.promise.then(() => 'up' as const), exited]);
	if (first !== 'up') {
		// Not a crash to retry: the port is taken, the folder is unusable… (its error is logged above).
		pg.failures = Array(RESTART_LIMIT).fill(Date.now());
		throw new Error(`PostgreSQL did not start (exit code ${first})`);
	}
}

async function main() {
	// Every setting checked before anything starts (PostgreSQL included): a bad one exits naming the variable.
	const settings = exitOnInvalidEnv();
	const port = dev ? settings.web.devPort : settings.web.port;
	// Handle signals from the very start (even during migrations or the build).
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);

	if (!env().database.url) await startPostgres();
	else log.info('using DATABASE_URL');
	if (stopping) return;
	await migrateDatabase(databaseUrl());
	log.info('migrations applied');
	const admin = await ensureFirstAdmin(env().auth.firstAdmin);
	// On the embedded database no web process runs yet: a stored upload no pending import
	// needs was left by a killed upload. With DATABASE_URL, web processes on other hosts
	// may be mid-upload: only stale uploads go (the sweep's default age).
	await sweepOrphanUploads(env().database.url ? {} : { olderThanMs: 0 }).catch((err) => log.warn({ err }, 'sweeping orphaned uploads failed'));
	await closeDb();

	if (!dev && buildIsStale()) {
		log.info('building the web app (vite build)…');
		const build = service('build', 'the build', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
		const child = spawn(process.execPath, build.args, { stdio: 'inherit' });
		build.child = child;
		const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
		build.child = null;
		if (stopping) return;
		if (code !== 0) throw new Error('vite build failed');
	}

	const preload = ['--import', EXIT_WITH_PARENT];
	service(
		'web',
		'the web server',
		dev
			? [...preload, 'node_modules/vite/bin/vite.js', 'dev', '--port', String(port), '--strictPort']
			: [...preload, 'server.js'],
		{ PORT: String(port) }
	);
	// A capped heap keeps a 1M-row import's worker near 250 MB RSS (V8 otherwise lets it grow);
	// a 32 MB young generation lets an import's short-lived rows die young instead of being
	// promoted (measured: GC fell from a third of the importer's CPU).
	service('worker', 'the worker', [...preload, '--max-old-space-size=192', '--max-semi-space-size=32', '--import', 'tsx', 'worker/index.ts']);
	for (const s of services) if (s.kind === 'web' || s.kind === 'worker') launch(s);

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
	say('  Ctrl-C stops the worker (after its in-flight sends), then web, then the embedded database.');
	say('');
}

main().catch(async (e) => {
	log.fatal({ err: e }, 'failed');
	await stopAll(1);
});
