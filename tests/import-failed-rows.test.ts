/**
 * The failed-rows download of an import, for rows already in contacts: their cells are
 * there (rebuilt from the contact through the mapping), so the file can be fixed and
 * imported back — not blank rows with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import type { WorkerHandle } from '../worker/index';
import { operatorToken, startRouteServer, startTestWorker, upload, useTempDataDir, waitDone, type TestServer } from './import-helpers';
import { sql } from '../src/lib/server/db/client';

useTempDataDir();
let server: TestServer;
let worker: WorkerHandle;
let token: string;

beforeAll(async () => {
	server = await startRouteServer();
	worker = await startTestWorker();
	token = (await operatorToken()).token;
});
afterAll(async () => {
	await worker.stop();
	await server.close();
});

async function importCsv(content: string, params: Record<string, string> = {}) {
	const res = await upload(server, token, content, params);
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return waitDone(res.body.id as string);
}

describe('failed rows download', () => {
	it('exports rows already in contacts with their cells, which import back', async () => {
		await importCsv('phone,name,city\n+14155550160,Ann,Paris\n+14155550161,Bob,Rome\n');
		const second = await importCsv('mobile,name,city,ignored\n+14155550160,Ann B,Lyon,x\n+14155550161,Bob B,Milan,y\n+14155550162,Cy,Oslo,z\n');
		expect(second.result).toMatchObject({ created: 1, duplicate: 2 });

		const res = await fetch(`${server.url}/api/imports/${second.id}/failed.csv?outcome=duplicate`, { headers: { authorization: `Bearer ${token}` } });
		expect(res.status).toBe(200);
		const text = await res.text();
		const rows = Papa.parse<string[]>(text.replace(/^\uFEFF/, '').trim()).data;
		expect(rows[0]).toEqual(['import_row', 'mobile', 'name', 'city', 'ignored', 'import_error']);
		expect(rows.slice(1).map((r) => r.slice(0, 5))).toEqual([
			['2', "'+14155550160", 'Ann', 'Paris', ''],
			['3', "'+14155550161", 'Bob', 'Rome', '']
		]);
		expect(rows[1][5]).toMatch(/already in contacts/);

		// Fixed (a new city) and imported back as is, updating the existing contacts.
		const fixed = text.replace('Paris', 'Nice');
		const again = await importCsv(fixed, { skipDuplicates: 'false' });
		expect(again.result).toMatchObject({ created: 0, updated: 1, invalid: 0 });
		const [c] = await sql()<{ attributes: Record<string, string> }[]>`select attributes from contacts where phone_e164 = '+14155550160'`;
		expect(c.attributes.city).toBe('Nice');
	});
});
