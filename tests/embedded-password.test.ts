/**
 * Issue 12: the embedded PostgreSQL superuser had the fixed password postgres/batchdesk
 * on a TCP port any local user can reach. A fresh folder now gets a random password kept
 * beside it (mode 600); a folder made with the old password is moved off it on its next
 * start, keeping its data; the server listens on 127.0.0.1 only, with no Unix socket.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { disableEmbeddedExitHook, startEmbedded, type EmbeddedServer } from '../src/lib/server/db/embedded';
import { EMBEDDED_USER, LEGACY_EMBEDDED_PASSWORD, passwordFile } from '../src/lib/server/db/url';
import { freePort } from '../scripts/lib/free-port';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-pgpass-test-'));
fs.chmodSync(root, 0o755);
disableEmbeddedExitHook();
const started: EmbeddedServer[] = [];

afterAll(async () => {
	for (const s of started) await s.stop().catch(() => {});
	fs.rmSync(root, { recursive: true, force: true });
});

async function canConnect(port: number, password: string): Promise<boolean | string> {
	const sql = postgres({ host: '127.0.0.1', port, user: EMBEDDED_USER, password, database: 'postgres', max: 1, onnotice: () => {} });
	try {
		await sql`select 1`;
		return true;
	} catch (e) {
		return (e as { code?: string }).code ?? false;
	} finally {
		await sql.end({ timeout: 2 });
	}
}

describe('embedded PostgreSQL password', () => {
	it('a fresh folder gets a random password in a mode-600 file; the old fixed one is refused', async () => {
		const dir = path.join(root, 'fresh');
		const port = await freePort();
		const pg = await startEmbedded({ dir, port });
		started.push(pg);
		const file = passwordFile(dir);
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(fs.readFileSync(file, 'utf8').trim()).toBe(pg.password);
		expect(pg.password.length).toBeGreaterThanOrEqual(32);
		expect(await canConnect(port, pg.password)).toBe(true);
		expect(await canConnect(port, LEGACY_EMBEDDED_PASSWORD)).toBe('28P01');
		const sql = postgres(pg.url('postgres'), { max: 1, onnotice: () => {} });
		const [s] = await sql<{ listen: string; sockets: string }[]>`
			select current_setting('listen_addresses') as listen, current_setting('unix_socket_directories') as sockets`;
		await sql.end();
		expect(s).toEqual({ listen: '127.0.0.1', sockets: '' });
		console.log(`fresh folder: random ${pg.password.length}-character password, file mode 600, legacy password refused, listening on ${s.listen} only`);
	});

	it('a folder made with the old fixed password keeps working and is moved to a random one', async () => {
		const dir = path.join(root, 'legacy');
		const port = await freePort();
		// Make an "old" folder: initialised, then put back on the legacy password with no file.
		const first = await startEmbedded({ dir, port });
		const sql = postgres(first.url('postgres'), { max: 1, onnotice: () => {} });
		await sql.unsafe(`create table kept (v text); insert into kept values ('old data')`);
		await sql.unsafe(`alter user postgres password '${LEGACY_EMBEDDED_PASSWORD}'`);
		await sql.end();
		await first.stop();
		fs.rmSync(passwordFile(dir));

		const second = await startEmbedded({ dir, port });
		started.push(second);
		expect(second.password).not.toBe(LEGACY_EMBEDDED_PASSWORD);
		expect(fs.readFileSync(passwordFile(dir), 'utf8').trim()).toBe(second.password);
		expect(fs.statSync(passwordFile(dir)).mode & 0o777).toBe(0o600);
		expect(await canConnect(port, LEGACY_EMBEDDED_PASSWORD)).toBe('28P01');
		const again = postgres(second.url('postgres'), { max: 1, onnotice: () => {} });
		expect(await again`select v from kept`).toEqual([{ v: 'old data' }]);
		await again.end();
	});

	it('a legacy server left running by a killed run is adopted and moved off the old password', async () => {
		const dir = path.join(root, 'legacy-running');
		const port = await freePort();
		const first = await startEmbedded({ dir, port });
		started.push(first);
		const sql = postgres(first.url('postgres'), { max: 1, onnotice: () => {} });
		await sql.unsafe(`alter user postgres password '${LEGACY_EMBEDDED_PASSWORD}'`);
		await sql.end();
		fs.rmSync(passwordFile(dir));
		const adopted = await startEmbedded({ dir, port });
		expect(adopted.reused).toBe(true);
		expect(adopted.password).not.toBe(LEGACY_EMBEDDED_PASSWORD);
		expect(await canConnect(port, adopted.password)).toBe(true);
		expect(await canConnect(port, LEGACY_EMBEDDED_PASSWORD)).toBe('28P01');
	});
});
