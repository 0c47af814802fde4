/**
 * Bad input gets a clear, typed error and leaves nothing behind: no batch, no job,
 * no stored upload (upload_chunks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { operatorToken, startRouteServer, upload, useTempDataDir, type TestServer } from './import-helpers';
import { userCaller } from './helpers';
import { resetEnvCache } from '../src/lib/server/env';

const dataDir = useTempDataDir();
process.env.UPLOAD_MAX_BYTES = String(12 * 1024 * 1024);
process.env.IMPORT_JSON_MAX_CONTACTS = '100';
resetEnvCache();

let server: TestServer;
let token: string;

beforeAll(async () => {
	server = await startRouteServer();
	token = (await operatorToken()).token;
});
afterAll(async () => {
	await server.close();
});

async function nothingLeft() {
	const [{ batches }] = await sql()<{ batches: number }[]>`select count(*)::int as batches from batch_operations where type = 'IMPORT'`;
	const [{ jobs }] = await sql()<{ jobs: number }[]>`select count(*)::int as jobs from graphile_worker.jobs where task_identifier = 'import:run'`;
	const [{ files }] = await sql()<{ files: number }[]>`select count(distinct upload_id)::int as files from upload_chunks`;
	return { batches, jobs, files };
}

describe('upload refusals', () => {
	const cases: Array<[string, string | Buffer, Record<string, string>, number, RegExp]> = [
		['no phone column', 'name,city\nAnn,Paris\n', {}, 400, /No column is mapped to phone/],
		['an empty file', '', {}, 400, /empty/],
		['a header without rows', 'phone,name\n', {}, 400, /no data rows/],
		['a binary file', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0a]), {}, 400, /not a text file/],
		['a Latin-1 file', Buffer.from('phone,name\n+14155550100,Jos\xe9\n', 'latin1'), {}, 400, /not UTF-8/],
		['a UTF-16 file', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('phone\n+1415\n', 'utf16le')]), {}, 400, /UTF-16/],
		['a 10 MB single field', 'phone,name\n+14155550100,' + 'x'.repeat(10 * 1024 * 1024) + '\n', {}, 400, /Row 2 is longer than 1 MB/],
		['a 10 MB quoted field with newlines', 'phone,name\n+14155550100,"' + ('x'.repeat(1023) + '\n').repeat(10240) + '"\n', {}, 400, /Row 2 is longer than 1 MB/],
		['a file over the limit', 'phone,name\n' + '+14155550100,Ann\n'.repeat(800_000), {}, 413, /larger than the 12 MB upload limit/],
		['a quote never closed', 'phone,name\n+14155550100,"Ann\n+14155550101,Bob\n', {}, 400, /never closed/],
		['a bad mapping', 'phone,name\nx,y\n', { mapping: '["phone","phone"]' }, 400, /Only one column/],
		['a bad country', 'phone\n+14155550100\n', { defaultCountry: 'Narnia' }, 400, /two-letter/],
		['a bad option', 'phone\n+14155550100\n', { skipDuplicates: 'maybe' }, 400, /skipDuplicates/]
	];
	for (const [what, body, params, status, message] of cases) {
		it(`refuses ${what}`, async () => {
			const res = await upload(server, token, body, params);
			expect(res.status).toBe(status);
			expect(res.body.error?.message).toMatch(message);
			expect(await nothingLeft()).toEqual({ batches: 0, jobs: 0, files: 0 });
		});
	}

	it('answers an over-limit upload with 413 within a second, before reading the body', async () => {
		const started = Date.now();
		const status = await new Promise<number>((resolve, reject) => {
			const url = new URL(`${server.url}/api/imports`);
			const req = http.request(
				{ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': String(300 * 1024 * 1024) } },
				(res) => resolve(res.statusCode ?? 0)
			);
			req.on('error', reject);
			req.write('phone,name\n');
			// The other 300 MB are never sent: the answer must not wait for them.
		});
		expect(status).toBe(413);
		expect(Date.now() - started).toBeLessThan(1000);
		expect(await nothingLeft()).toEqual({ batches: 0, jobs: 0, files: 0 });
	});

	it('counts bytes of a chunked upload (no Content-Length) and stops at the limit', async () => {
		const big = 'phone,name\n' + '+14155550100,Ann\n'.repeat(800_000);
		const res = await fetch(`${server.url}/api/imports`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
			body: new Blob([big]).stream(),
			// @ts-expect-error Node's fetch needs duplex for streamed bodies
			duplex: 'half'
		});
		expect(res.status).toBe(413);
		expect(await nothingLeft()).toEqual({ batches: 0, jobs: 0, files: 0 });
	});

	it('refuses anonymous and viewer uploads', async () => {
		const anon = await fetch(`${server.url}/api/imports`, { method: 'POST', body: 'phone\n+14155550100\n', headers: { 'content-type': 'text/csv' } });
		expect(anon.status).toBe(401);
		const { createApiToken } = await import('../src/lib/server/auth/tokens');
		const viewer = await userCaller('viewer');
		const res = await upload(server, (await createApiToken(viewer.user.id, 'v')).token, 'phone\n+14155550100\n');
		expect(res.status).toBe(403);
	});
});

describe('batch.import (JSON)', () => {
	it('refuses a body over the cap with PAYLOAD_TOO_LARGE pointing to the upload, and writes nothing', async () => {
		const { call } = await userCaller('operator');
		const contacts = Array.from({ length: 101 }, (_, i) => ({ phoneE164: `+1415555${String(i).padStart(4, '0')}` }));
		const err = await call.batch.import({ contacts }).catch((e) => e);
		expect(err).toBeInstanceOf(TRPCError);
		expect(err.code).toBe('PAYLOAD_TOO_LARGE');
		expect(err.message).toMatch(/\/api\/imports/);
		expect(await nothingLeft()).toEqual({ batches: 0, jobs: 0, files: 0 });
	});

	it('names the field of a malformed contact', async () => {
		const { call } = await userCaller('operator');
		const err = await call.batch.import({ contacts: [{ phoneE164: '+14155550100', tags: [''] }] }).catch((e) => e);
		expect(err.code).toBe('BAD_REQUEST');
		expect(err.message).toMatch(/Tags cannot be empty/);
		const viewer = await userCaller('viewer');
		const denied = await viewer.call.batch.import({ contacts: [{ phoneE164: '+14155550100' }] }).catch((e) => e);
		expect(denied.code).toBe('FORBIDDEN');
		expect(await nothingLeft()).toEqual({ batches: 0, jobs: 0, files: 0 });
	});
});
