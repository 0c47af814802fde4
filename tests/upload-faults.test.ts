/**
 * Uploads fail loudly and early (issue 11): what the worker would refuse is refused by
 * the upload route; a database that cannot take the file (uploads are stored in
 * PostgreSQL, issue 15) answers 507/500 and leaves no batch and no stored chunk;
 * orphaned uploads are swept; an Idempotency-Key makes a retried upload return the
 * batch of the first one.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from '../src/lib/server/db/client';
import { receiveCsvUpload, sweepOrphanUploads, UploadStorageError } from '../src/lib/server/imports/upload';
import Papa from 'papaparse';
import { operatorToken, startRouteServer, startTestWorker, upload, useTempDataDir, waitDone, type TestServer } from './import-helpers';

const dataDir = useTempDataDir();

let server: TestServer;
let token: string;
let mounted = false;

beforeAll(async () => {
	server = await startRouteServer();
	token = (await operatorToken()).token;
});
afterAll(async () => {
	await server.close();
	if (mounted) execFileSync('umount', ['-l', tinyDir]);
});
beforeEach(async () => {
	await sql()`delete from batch_operations where type = 'IMPORT'`;
	await sql()`delete from upload_chunks`;
});

async function importBatches() {
	const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = 'IMPORT'`;
	return n;
}
/** The uploads stored in the database (distinct upload ids in upload_chunks). */
async function stored(): Promise<string[]> {
	return (await sql()<{ upload_id: string }[]>`select distinct upload_id from upload_chunks order by 1`).map((r) => r.upload_id);
}
/** None of the previous version's upload folder is created any more. */
const uploadsFolder = () => fs.existsSync(path.join(dataDir, 'uploads'));
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
		expect(await stored()).toEqual([]);
	});

	it('refuses a header cell over 200 characters with 400, storing nothing (batch.input stays small)', async () => {
		const before = await importBatches();
		const res = await upload(server, token, `phone,${'n'.repeat(5_000)}\n+14155550100,x\n`);
		expect(res.status).toBe(400);
		expect(res.body.error?.message).toMatch(/at most 200 characters/);
		expect(await importBatches()).toBe(before);
		expect(await stored()).toEqual([]);
	});

	it('accepts exactly 500 columns', async () => {
		const header = ['phone', ...Array.from({ length: 499 }, (_, i) => `c${i}`)].join(',');
		const row = ['+14155550100', ...Array.from({ length: 499 }, () => 'x')].join(',');
		const res = await upload(server, token, `${header}\n${row}\n`);
		expect(res.status).toBe(201);
	});
});

const tinyDir = path.join(os.tmpdir(), `batchdesk-tiny-ts-${process.pid}`);
const tablespace = `tiny_${process.pid}`;

/**
 * A real full disk under PostgreSQL: a 256 KB tmpfs as a tablespace, upload_chunks moved
 * onto it, so inserting chunks fails with PostgreSQL's own 53100 (could not extend file:
 * No space left on device). Needs root and the server on this machine; false otherwise.
 */
async function tinyTablespace(): Promise<boolean> {
	try {
		const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
		fs.mkdirSync(tinyDir, { recursive: true });
		execFileSync('mount', ['-t', 'tmpfs', '-o', `size=256k,uid=${uid},mode=0700`, 'tmpfs', tinyDir], { stdio: 'ignore' });
		mounted = true;
		await sql().unsafe(`create tablespace ${tablespace} location '${tinyDir}'`);
		await sql().unsafe(`alter table upload_chunks set tablespace ${tablespace}`);
		return true;
	} catch {
		if (mounted) execFileSync('umount', ['-l', tinyDir]);
		mounted = false;
		return false;
	}
}

async function dropTinyTablespace() {
	await sql().unsafe(`alter table upload_chunks set tablespace pg_default`);
	await sql().unsafe(`drop tablespace ${tablespace}`);
	execFileSync('umount', ['-l', tinyDir]);
	mounted = false;
}

/** PostgreSQL refusing chunk inserts past the first with `sqlstate` (as a full or failing disk makes it). */
async function refuseChunks(sqlstate: string) {
	await sql().unsafe(`
		create or replace function refuse_chunk() returns trigger language plpgsql as $$
		begin
			if new.seq >= 1 then raise exception 'simulated storage failure' using errcode = '${sqlstate}'; end if;
			return new;
		end $$;
		create trigger refuse_chunk before insert on upload_chunks for each row execute function refuse_chunk();`);
}
const acceptChunks = () => sql().unsafe(`drop trigger if exists refuse_chunk on upload_chunks`);

async function* chunksOf(bufs: Buffer[]): AsyncIterable<Uint8Array> {
	for (const b of bufs) yield b;
}

describe('a database that cannot take the file', () => {
	it('answers 507 when PostgreSQL is out of disk (53100), with a clear message, and leaves no batch and no stored chunk', async () => {
		const before = await importBatches();
		const body = csv(300_000); // ~7 MB: several chunks, far more than 256 KB even compressed
		const real = await tinyTablespace();
		if (!real) await refuseChunks('53100'); // not root: PostgreSQL raising the same SQLSTATE
		try {
			const res = await upload(server, token, body);
			expect(res.status).toBe(507);
			expect(res.body.error?.code).toBe('INSUFFICIENT_STORAGE');
			expect(res.body.error?.message).toMatch(/database is full \(53100 disk_full\): nothing was imported/);
			expect(await importBatches()).toBe(before);
			expect(await stored()).toEqual([]);
		} finally {
			if (real) await dropTinyTablespace();
			else await acceptChunks();
		}
		// The disk is whole again: an upload goes through, and its import removes it at the end.
		const worker = await startTestWorker();
		try {
			const ok = await upload(server, token, csv(10));
			expect(ok.status).toBe(201);
			expect(await importBatches()).toBe(before + 1);
			expect((await stored()).length).toBe(1);
			const done = await waitDone(ok.body.id!);
			expect(done.successCount).toBe(10);
			expect(await stored()).toEqual([]);
		} finally {
			await worker.stop();
		}
		expect(uploadsFolder()).toBe(false);
	});

	it('answers 500 with a clear message on another storage error (58030 io_error), and removes the chunks stored', async () => {
		await refuseChunks('58030');
		try {
			const chunks = Array.from({ length: 60 }, (_, i) => Buffer.from(i === 0 ? csv(2000) : csv(2000).slice('phone,name\n'.length)));
			const err = await receiveCsvUpload({ body: chunksOf(chunks), contentLength: null, fileName: 'x.csv', mapping: null }).catch((e) => e);
			expect(err).toBeInstanceOf(UploadStorageError);
			expect(err.status).toBe(500);
			expect(err.message).toMatch(/could not store the upload in the database \(58030\): nothing was imported/);
			expect(await stored()).toEqual([]);
		} finally {
			await acceptChunks();
		}
	});
});

describe('orphaned uploads', () => {
	it("sweeps uploads no pending import needs, keeps a pending import's upload and an upload in progress", async () => {
		const res = await upload(server, token, csv(5));
		expect(res.status).toBe(201);
		const [pending] = await stored();
		const orphan = randomUUID();
		const fresh = randomUUID();
		await sql()`insert into upload_chunks (upload_id, seq, data, written_at) values
			(${orphan}, 0, ${Buffer.from('phone\n+1\n')}, now() - interval '1 hour'),
			(${fresh}, 0, ${Buffer.from('phone\n')}, now())`;
		await sql()`update upload_chunks set written_at = now() - interval '1 hour' where upload_id = ${pending}`;
		expect(await sweepOrphanUploads()).toEqual([orphan]);
		expect(await stored()).toEqual([pending, fresh].sort());
		// Once its import has ended, the upload is gone with it (trigger); the old in-progress one is swept.
		await sql()`update batch_operations set status = 'CANCELLED' where id = ${res.body.id!}`;
		expect(await stored()).toEqual([fresh]);
		await sql()`update upload_chunks set written_at = now() - interval '1 hour' where upload_id = ${fresh}`;
		expect(await sweepOrphanUploads()).toEqual([fresh]);
		expect(await stored()).toEqual([]);
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
		expect((await stored()).length).toBe(1);
		const other = await uploadWithKey(csv(101), key);
		expect(other.status).toBe(409);
		expect(other.body.error?.field).toBe('Idempotency-Key');
		expect(await importBatches()).toBe(before + 1);
		expect((await stored()).length).toBe(1);
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
