/**
 * A PostgreSQL of a test's (or a chaos scenario's) own, which it may kill -9, stop and
 * start again without disturbing the server every other test file shares.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import { freePort } from '../scripts/lib/free-port';
import { disableEmbeddedExitHook, startEmbedded, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { migrateDatabase } from '../src/lib/server/db/migrate';

export type PrivatePg = {
	url: string;
	port: number;
	/** kill -9 of the postmaster and every backend: what a machine crash leaves. */
	kill9(): void;
	/** Starts it again on the same folder and port (crash recovery runs). */
	start(): Promise<void>;
	/** pg_terminate_backend of every connection whose application_name matches `like`. */
	terminate(like: string): Promise<number>;
	stop(): Promise<void>;
};

export async function startPrivatePg(): Promise<PrivatePg> {
	disableEmbeddedExitHook();
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-private-pg-'));
	fs.chmodSync(root, 0o755);
	const dir = path.join(root, 'data');
	const port = await freePort();
	let server: EmbeddedServer | null = await startEmbedded({ dir, port, persistent: true });
	// Its password is random, kept beside the data folder; restarts read the same file.
	const url = server.url('postgres');
	await migrateDatabase(url);
	const admin = () => postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 3 });
	return {
		url,
		port,
		kill9() {
			const pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
			let children: number[] = [];
			try {
				children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
			} catch {
				// no children
			}
			for (const p of [pid, ...children]) {
				try {
					process.kill(p, 'SIGKILL');
				} catch {
					// gone already
				}
			}
			server = null;
		},
		async start() {
			// The killed backends may take a moment to go: the new postmaster refuses while they hold shared memory.
			for (let attempt = 0; ; attempt++) {
				try {
					server = await startEmbedded({ dir, port, persistent: true });
					return;
				} catch (e) {
					if (attempt >= 20) throw e;
					await new Promise((r) => setTimeout(r, 500));
				}
			}
		},
		async terminate(like: string) {
			const a = admin();
			try {
				const rows = await a<{ n: number }[]>`
					select count(*)::int as n from (
						select pg_terminate_backend(pid) from pg_stat_activity
						where application_name like ${like} and pid <> pg_backend_pid()) t`;
				return rows[0].n;
			} finally {
				await a.end({ timeout: 1 }).catch(() => {});
			}
		},
		async stop() {
			await server?.stop().catch(() => {});
			server = null;
			fs.rmSync(root, { recursive: true, force: true });
		}
	};
}
