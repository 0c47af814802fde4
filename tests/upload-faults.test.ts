/**
 * Uploads fail loudly and early (issue 11): what the worker would refuse is refused by
 * the upload route; a disk that cannot take the file answers 507/500 and leaves no batch
 * and no file; orphaned upload files are swept; an Idempotency-Key makes a retried
 * upload return the batch of the first one.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sql } from '../src/lib/server/db/client';
import { receiveCsvUpload, sweepOrphanUploads, UploadStorageError } from '../src/lib/server/imports/upload';
import Papa from 'papaparse';
import { operatorToken, startRouteServer, startTestWorker, upload, useTempDataDir, waitDone, type TestServer } from './import-helpers';

const dataDir = useTempDataDir();
const uploads = path.join(dataDir, 'uploads');

let server: TestServer;
let token: string;
let mounted = false;

beforeAll(async () => {
	server = await startRouteServer();
	token = (await operatorToken()).token;
});
afterAll(async () => {
	await server.close();
	if (mounted) execFileSync('umount', [uploads]);
});
beforeEach(async () => {
	await sql()`delete from batch_operations where type = 'IMPORT'`;
	for (const f of files()) fs.rmSync(path.join(uploads, f));
});

async function importBatches() {
	const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = 'IMPORT'`;
	return n;
}
const files = () => (fs.existsSync(uploads) ? fs.readdirSync(uploads) : []);
const csv = (rows: number) => 'phone,name\n' + Array.from({ length: rows }, (_, i) => `+1415${String(5550000 + i)},Name ${i}`).join('\n') + '\n';

describe('refused early', () => {
	it('refuses 10 000 columns with 400 naming the limit, before the worker sees it, leaving nothing', async () => {
		const before = await importBatches();
		const header = ['phone', ...Array.from({ length: 9_999 }, (_, i) => `c${i}`)].join(',');
		const row = ['+14155550100', ...Array.from({ length: 9_999 }, () => 'x')].join(',');
		const res = await upload(server, token, `${header}\n${row}\n`);
		expect(res.status).toBe(400);
		expect(res.body.error?.message).toMatch(/10000 columns; an import takes at most 500/);
		expect(res.body.error?.field).toBe('file');
		expect(await importBatches()).toBe(before);
		expect(files()).toEqual([]);
	});

	it('refuses a header cell over 200 characters with 400, storing nothing (batch.input stays small)', async () => {
		const before = await importBatches();
		const res = await upload(server, token, `phone,${'n'.repeat(5_000)}\n+14155550100,x\n`);
		expect(res.status).toBe(400);
		expect(res.body.error?.message).toMatch(/at most 200 characters/);
		expect(await importBatches()).toBe(before);
		expect(files()).toEqual([]);
	});

	it('accepts exactly 500 columns', async () => {
		const header = ['phone', ...Array.from({ length: 499 }, (_, i) => `c${i}`)].join(',');
		const row = ['+14155550100', ...Array.from({ length: 499 }, () => 'x')].join(',');
		const res = await upload(server, token, `${header}\n${row}\n`);
		expect(res.status).toBe(201);
	});
});

/** Mounts a 256 KB tmpfs on the uploads folder: a real full disk. Needs root; false when that is not possible. */
function mountTinyDisk(): boolean {
	try {
		fs.mkdirSync(uploads, { recursive: true });
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', uploads], { stdio: 'ignore' });
		mounted = true;
		return true;
	} catch {
		return false;
	}
}

async function* chunksOf(bufs: Buffer[]): AsyncIterable<Uint8Array> {
	for (const b of bufs) yield b;
}

/** A file stream that fails like a disk: after `okBytes`, every write errors with `code`. */
function failingFile(code: string, okBytes: number) {
	return (file: string) => {
		const real = fs.createWriteStream(file, { flags: 'wx' });
		let written = 0;
		const w = new Writable({
			construct(cb) {
				real.once('ready', () => {
					cb();
					// As fs.WriteStream does (receiveCsvUpload waits for it).
					process.nextTick(() => w.emit('ready'));
				});
			},
			write(chunk: Buffer, _enc, cb) {
				written += chunk.length;
				if (written > okBytes) return cb(Object.assign(new Error(`${code}: write failed`), { code, syscall: 'write', errno: -28 }));
				real.write(chunk, cb);
			},
			final(cb) {
				real.end(cb);
			},
			destroy(err, cb) {
				real.destroy();
				real.once('close', () => cb(err));
			}
		});
		return w;
	};
}

describe('a disk that cannot take the file', () => {
	it('answers 507 on a full uploads folder (ENOSPC), with a clear message, and leaves no batch and no file', async () => {
		const before = await importBatches();
		const body = csv(40_000); // ~1 MB, four times the disk
		if (mountTinyDisk()) {
			try {
				const res = await upload(server, token, body);
				expect(res.status).toBe(507);
				expect(res.body.error?.code).toBe('INSUFFICIENT_STORAGE');
				expect(res.body.error?.message).toMatch(/upload folder is full \(ENOSPC\): nothing was imported/);
				expect(await importBatches()).toBe(before);
				expect(files()).toEqual([]);
				// The disk is whole again: a small upload goes through.
				expect((await upload(server, token, csv(10))).status).toBe(201);
				expect(await importBatches()).toBe(before + 1);
				expect(files().length).toBe(1);
				fs.rmSync(path.join(uploads, files()[0]));
			} finally {
				execFileSync('umount', [uploads]);
				mounted = false;
			}
		} else {
			// Not root: the same path with a stream that fails as ENOSPC does.
			const err = await receiveCsvUpload({ body: chunksOf([Buffer.from(body)]), contentLength: null, fileName: 'x.csv', mapping: null, openFile: failingFile('ENOSPC', 64 * 1024) }).catch((e) => e);
			expect(err).toBeInstanceOf(UploadStorageError);
			expect(err.status).toBe(507);
			expect(files()).toEqual([]);
		}
		expect(files()).toEqual([]);
	});

	it('answers 500 with a clear message on another write error (EIO), and removes the partial file', async () => {
		const chunks = Array.from({ length: 20 }, (_, i) => Buffer.from(i === 0 ? csv(2000) : csv(2000).slice('phone,name\n'.length)));
		const err = await receiveCsvUpload({ body: chunksOf(chunks), contentLength: null, fileName: 'x.csv', mapping: null, openFile: failingFile('EIO', 100 * 1024) }).catch((e) => e);
		expect(err).toBeInstanceOf(UploadStorageError);
		expect(err.status).toBe(500);
		expect(err.message).toMatch(/could not store the upload \(EIO\): nothing was imported/);
		expect(files()).toEqual([]);
	});
});

describe('orphaned upload files', () => {
	it('sweeps files no pending import needs, keeps a pending import\'s file and an upload in progress', async () => {
		fs.mkdirSync(uploads, { recursive: true });
		const res = await upload(server, token, csv(5));
		expect(res.status).toBe(201);
		const [pending] = files();
		const orphan = path.join(uploads, 'orphan-from-a-killed-upload.csv');
		const fresh = path.join(uploads, 'in-progress.csv');
		fs.writeFileSync(orphan, 'phone\n+1\n');
		fs.writeFileSync(fresh, 'phone\n');
		const old = new Date(Date.now() - 3_600_000);
		fs.utimesSync(orphan, old, old);
		fs.utimesSync(path.join(uploads, pending), old, old);
		const removed = await sweepOrphanUploads();
		expect(removed).toEqual([orphan]);
		expect(files().sort()).toEqual([pending, 'in-progress.csv'].sort());
		// Once its import has ended, the file is not needed any more.
		await sql()`update batch_operations set status = 'CANCELLED' where id = ${res.body.id!}`;
		fs.utimesSync(fresh, old, old);
		expect((await sweepOrphanUploads()).length).toBe(2);
		expect(files()).toEqual([]);
	});
});

describe('Idempotency-Key on the upload route', () => {
	it('returns the same batch for the same key and file, even sent 10 times at once; another file under the key is a 409', async () => {
		const before = await importBatches();
		const body = csv(100);
		const key = `upload-${Date.now()}`;
		const answers = await Promise.all(Array.from({ length: 10 }, () => uploadWithKey(body, key)));
		expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
		expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
		expect(await importBatches()).toBe(before + 1);
		expect(files().length).toBe(1);
		const other = await uploadWithKey(csv(101), key);
		expect(other.status).toBe(409);
		expect(other.body.error?.field).toBe('Idempotency-Key');
		expect(await importBatches()).toBe(before + 1);
		expect(files().length).toBe(1);
	});
});

async function uploadWithKey(body: string, key: string) {
	const res = await fetch(`${server.url}/api/imports`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'idempotency-key': key },
		body
	});
	return { status: res.status, body: (await res.json()) as { id?: string; error?: { field: string | null } } };
}

describe('the failed-rows export, imported again', () => {
	it('fails the same rows for the same reasons, and its own export is the same file (no repeated columns, no stray CR)', async () => {
		const worker = await startTestWorker();
		try {
			// CRLF like a spreadsheet's export; an unquoted last column, where a CR would stick.
			const csv = ['phone,name,city', '12345,=Bad,"Town, A"', '+14155550170,Good,Paris', 'abc,Other,Rome', ''].join('\r\n');
			const first = await upload(server, token, csv);
			await waitDone(first.body.id!);
			const export1 = await (await fetch(`${server.url}/api/imports/${first.body.id}/failed.csv`, { headers: { authorization: `Bearer ${token}` } })).text();
			const second = await upload(server, token, export1);
			const done = await waitDone(second.body.id!);
			expect(done.failedCount).toBe(2);
			const export2 = await (await fetch(`${server.url}/api/imports/${second.body.id}/failed.csv`, { headers: { authorization: `Bearer ${token}` } })).text();
			const rows = (t: string) => Papa.parse<string[]>(t.replace(/^\uFEFF/, '').trim()).data;
			expect(rows(export2)[0]).toEqual(['import_row', 'phone', 'name', 'city', 'import_error']);
			expect(rows(export2).map((r) => r.slice(1))).toEqual(rows(export1).map((r) => r.slice(1)));
			expect(export1).not.toMatch(/\r"/);
			expect(rows(export1)[1][3]).toBe('Town, A');
		} finally {
			await worker.stop();
		}
	});
});
