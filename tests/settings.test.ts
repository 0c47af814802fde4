/**
 * Settings are checked at start: a bad value stops `npm start` and the worker with the
 * variable named and a non-zero exit, before anything starts (npm start must not start
 * PostgreSQL first). And the parsed shape: defaults, empty = unset, secrets not echoed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { env, EXIT_INVALID_ENV, InvalidEnvError, resetEnvCache } from '../src/lib/server/env';
import { formatLine } from '../src/lib/server/log';

/** Runs `node --import tsx <entry>` with `extra` over this process's env (minus DATABASE_URL). */
function run(entry: string, extra: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, ...extra };
	delete childEnv.DATABASE_URL; // npm start would start the embedded PostgreSQL without it
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		child.once('error', reject);
		child.once('exit', (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}

describe('a bad setting stops a process at start', () => {
	it('npm start (scripts/start.ts) exits naming each bad variable, before starting PostgreSQL', async () => {
		const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-settings-test-'));
		try {
			const r = await run('scripts/start.ts', { SEND_LANES: 'abc', WORKER_CONCURRENCY: '0', BATCHDESK_DATA_DIR: dataDir });
			expect(r.code).toBe(EXIT_INVALID_ENV);
			expect(r.stderr).toMatch(/SEND_LANES must be a number \(got "abc"\)/);
			expect(r.stderr).toMatch(/WORKER_CONCURRENCY must be 1 or more/);
			// Nothing started: no embedded PostgreSQL in the data folder, no log line.
			expect(fs.readdirSync(dataDir)).toEqual([]);
			expect(r.stderr + r.stdout).not.toMatch(/PostgreSQL|migrations/);
		} finally {
			fs.rmSync(dataDir, { recursive: true, force: true });
		}
	});

	it('the worker (worker/index.ts) exits naming each bad variable', async () => {
		const r = await run('worker/index.ts', { SEND_LANES: 'abc', LOG_LEVEL: 'loud', BULK_ITEM_LEDGER: 'maybe' });
		expect(r.code).toBe(EXIT_INVALID_ENV);
		expect(r.stderr).toMatch(/SEND_LANES/);
		expect(r.stderr).toMatch(/LOG_LEVEL must be one of .*debug/);
		expect(r.stderr).toMatch(/BULK_ITEM_LEDGER/);
		expect(r.stdout).toBe('');
	});
});

describe('env()', () => {
	const saved = { ...process.env };
	afterEach(() => {
		for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
		Object.assign(process.env, saved);
		resetEnvCache();
	});
	const set = (vars: Record<string, string | undefined>) => {
		for (const [k, v] of Object.entries(vars)) {
			if (v === undefined) delete process.env[k];
			else process.env[k] = v;
		}
		resetEnvCache();
	};

	it('groups settings by domain with the README defaults; an empty variable is unset', () => {
		set({ SEND_LANES: '', PORT: undefined, SEND_TRACE: undefined, BULK_ITEM_LEDGER: 'on', IMPORT_CHUNK_ROWS: '200' });
		const e = env();
		expect(e.send).toMatchObject({ lanes: 3, sandboxSlice: 5000, httpSlice: 100, httpConcurrency: 10, trace: false });
		expect(e.web).toMatchObject({ port: 3000, devPort: 5173, trpcMaxBodyBytes: 16 * 1024 * 1024 });
		expect(e.worker).toEqual({ concurrency: 8, deadAfterSeconds: 30, outageGraceSeconds: 600 });
		expect(e.bulk).toEqual({ chunkSize: 10_000, itemLedger: true, archiveRetentionDays: 30 });
		expect(e.imports.chunkRows).toBe(200);
		expect(env()).toBe(e); // cached until resetEnvCache()
		set({ SEND_LANES: '5' });
		expect(env().send.lanes).toBe(5);
	});

	it('names every bad variable at once and never echoes a secret', () => {
		set({ SEND_LANES: '2.5', DATABASE_URL: 'mysql://user:hunter2@db/x', ADMIN_PASSWORD: 'short', ORIGIN: 'ftp://x' });
		let error: unknown;
		try {
			env();
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(InvalidEnvError);
		const problems = (error as InvalidEnvError).problems.map((p) => p.variable).sort();
		expect(problems).toEqual(['ADMIN_PASSWORD', 'DATABASE_URL', 'ORIGIN', 'SEND_LANES']);
		expect((error as Error).message).not.toMatch(/hunter2|short/);
		expect((error as Error).message).toMatch(/SEND_LANES must be a whole number \(got "2.5"\)/);
	});
});

describe('the terminal log format', () => {
	it('prints time, level, module, message, fields, then the error stack', () => {
		const line = JSON.stringify({
			level: 'error',
			time: '2026-11-29T10:56:33.754Z',
			pid: 1,
			hostname: 'h',
			module: 'send',
			batchId: 'b 1',
			lane: 2,
			err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
			msg: 'slice failed'
		});
		expect(formatLine(line)).toBe('10:56:33.754 ERROR [send] slice failed batchId="b 1" lane=2\n    Error: boom\n        at x\n');
	});
});
