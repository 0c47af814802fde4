/**
 * The embedded PostgreSQL as a child process of `npm start` (scripts/start.ts), in a
 * process group of its own: a signal sent to `npm start`'s group (Ctrl-C, a service
 * manager's SIGTERM) does not reach the database, which stops only when the supervisor
 * says so, after the workers have finished their in-flight sends.
 *
 * Tells its parent `{ ready: port, pid }` over IPC once the server answers, and exits
 * (code 1) when the server dies, so the supervisor can start it again. SIGTERM: a fast
 * shutdown of the server, then exit 0. If `npm start` itself dies (kill -9), it waits
 * until the app's other connections are gone (workers draining), then stops the server.
 */
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { startAppPostgres } from './database';
import { env, exitOnInvalidEnv } from '../src/lib/server/env';
import { logger } from '../src/lib/server/log';
import { databaseUrl } from '../src/lib/server/db/url';
import type { EmbeddedServer } from '../src/lib/server/db/embedded';

const log = logger.child({ module: 'postgres' });
exitOnInvalidEnv();

let server: EmbeddedServer | null = null;
let stopping = false;

function postmasterPid(): number | null {
	try {
		const pid = Number(fs.readFileSync(path.join(env().database.embeddedDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
		return pid > 0 ? pid : null;
	} catch {
		return null;
	}
}

function alive(pid: number) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

async function stop(code: number) {
	if (stopping) return;
	stopping = true;
	await server?.stop().catch((err) => log.error({ err }, 'stopping PostgreSQL failed'));
	process.exit(code);
}

/** The app's connections still open, other than this probe's (workers finishing their sends). */
async function otherConnections(): Promise<number> {
	const probe = postgres(databaseUrl(), { max: 1, connect_timeout: 2, onnotice: () => {} });
	try {
		const [r] = await probe<{ n: number }[]>`
			select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`;
		return r.n;
	} catch {
		return 0;
	} finally {
		await probe.end({ timeout: 1 }).catch(() => {});
	}
}

process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
// The supervisor is gone (killed): stop once the workers and web have let go, 15 s at most.
process.on('disconnect', async () => {
	const end = Date.now() + 15_000;
	while (Date.now() < end && (await otherConnections()) > 0) await new Promise((r) => setTimeout(r, 250));
	await stop(0);
});

try {
	server = await startAppPostgres();
} catch (err) {
	log.error({ err }, 'PostgreSQL did not start');
	process.exit(1);
}
const pid = postmasterPid();
process.send?.({ ready: server.port, pid });
// No handle to the server's process when it was adopted: watch its pid instead.
setInterval(() => {
	if (stopping || pid === null || alive(pid)) return;
	log.error({ pid }, 'PostgreSQL exited');
	stopping = true;
	process.exit(1);
}, 250);
