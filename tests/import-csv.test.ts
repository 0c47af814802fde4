/**
 * CSV imports end to end: the real upload route over HTTP (Bearer token), the real
 * worker, real Postgres. What an operator would notice: which rows went in, which
 * did not and why, and what the base looks like afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { sql } from '../src/lib/server/db/client';
import type { WorkerHandle } from '../worker/index';
import { operatorToken, startRouteServer, startTestWorker, upload, useTempDataDir, waitDone, type TestServer } from './import-helpers';

useTempDataDir();
// These imports run through the normalise threads (off by default), so both paths stay tested.
process.env.IMPORT_THREADS = '2';
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

async function contactByPhone(phone: string) {
	const [c] = await sql()<{ name: string | null; tags: string[]; attributes: Record<string, string>; source: string | null }[]>`
		select name, tags, attributes, source from contacts where phone_e164 = ${phone}`;
	return c;
}

async function ledger(batchId: string) {
	return sql()<{ row_number: number; outcome: string; reason: string }[]>`
		select row_number, outcome, reason from import_rows where batch_id = ${batchId} order by row_number`;
}

async function importCsv(content: string | Buffer, params: Record<string, string> = {}) {
	const res = await upload(server, token, content, params);
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	expect(res.body.status).toBe('PENDING');
	return waitDone(res.body.id as string);
}

describe('CSV formats', () => {
	it('reads a BOM, ; delimiter, quoted ; and newlines, CRLF, blank lines and Chinese names', async () => {
		const csv =
			'\uFEFF手机;姓名;标签;城市\r\n' +
			'+86 138 0013 8000;张伟;vip;北京\r\n' +
			'\r\n' +
			'"+86 139 0013 9000";"Li; ""Lily"" Na";"a,b";"Shang\r\nhai"\r\n' +
			';;;\r\n' +
			'13700137000;王芳;;广州\r\n';
		const done = await importCsv(csv, { defaultCountry: 'CN', tags: 'fair', source: 'csv-test' });
		expect(done.status).toBe('COMPLETED');
		expect(done.result).toMatchObject({ created: 3, updated: 0, duplicate: 0, invalid: 0 });
		expect(done.processedCount).toBe(3);
		expect(done.totalCount).toBe(3);
		expect(done.progress).toBe(100);

		expect(await contactByPhone('+8613800138000')).toMatchObject({ name: '张伟', tags: ['vip', 'fair'], attributes: { 城市: '北京' }, source: 'csv-test' });
		expect(await contactByPhone('+8613900139000')).toMatchObject({ name: 'Li; "Lily" Na', tags: ['a', 'b', 'fair'], attributes: { 城市: 'Shang\r\nhai' } });
		expect(await contactByPhone('+8613700137000')).toMatchObject({ name: '王芳', tags: ['fair'] });
	});

	it('keeps backslashes, quotes, braces and NULL-looking words in names and tags; a line break in a name becomes a space', async () => {
		const csv =
			'phone,name,tags,note\n' +
			'+14155550180,"C:\\dir \\t \\0 {x} ""q""","a\\b;{c};""d"";NULL;e f","tab\there\\n"\n' +
			'+14155550181,"Ann\r\nLee\tJr","x\ty",\n';
		const done = await importCsv(csv, { tags: 'batch' });
		expect(done.result).toMatchObject({ created: 2, invalid: 0 });
		expect(await contactByPhone('+14155550180')).toMatchObject({
			name: 'C:\\dir \\t \\0 {x} "q"',
			tags: ['a\\b', '{c}', '"d"', 'NULL', 'e f', 'batch'],
			attributes: { note: 'tab\there\\n' }
		});
		expect(await contactByPhone('+14155550181')).toMatchObject({ name: 'Ann Lee Jr', tags: ['x y', 'batch'] });
	});

	it('reads tab-delimited files with LF endings and mixed phone formats', async () => {
		const csv = 'name\tphone\nAnn\t(415) 555-0132\nBob\t+1 415-555-0133\nCid\t011 1 415 555 0134\n';
		const done = await importCsv(csv, { defaultCountry: 'US' });
		expect(done.result).toMatchObject({ created: 3, invalid: 0 });
		expect(await contactByPhone('+14155550132')).toMatchObject({ name: 'Ann' });
		expect(await contactByPhone('+14155550134')).toMatchObject({ name: 'Cid' });
	});
});

describe('invalid rows', () => {
	it('reports invalid and short numbers with row number and reason, and the failed-rows CSV imports back', async () => {
		const csv = [
			'phone,name,note',
			'+14155550140,Good,=1+1',
			'12,Short,',
			'not a phone,Letters,',
			'+999 123 456 789,Nowhere,',
			'4155550141,No country,@x'
		].join('\n');
		const done = await importCsv(csv);
		expect(done.result).toMatchObject({ created: 1, invalid: 4 });
		expect(done.failedCount).toBe(4);
		const rows = await ledger(done.id);
		expect(rows.map((r) => [r.row_number, r.outcome])).toEqual([
			[3, 'invalid'],
			[4, 'invalid'],
			[5, 'invalid'],
			[6, 'invalid']
		]);
		expect(rows[0].reason).toMatch(/too short/);
		expect(rows[1].reason).toMatch(/letters/);
		expect(rows[3].reason).toMatch(/no default country/);

		const res = await fetch(`${server.url}/api/imports/${done.id}/failed.csv`, { headers: { authorization: `Bearer ${token}` } });
		expect(res.status).toBe(200);
		const text = await res.text();
		const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, '').trim()).data;
		expect(parsed[0]).toEqual(['import_row', 'phone', 'name', 'note', 'import_error']);
		expect(parsed).toHaveLength(5);
		// Formula injection: cells starting with = + - @ are escaped with a leading quote.
		expect(parsed[4]).toEqual(['6', '4155550141', 'No country', "'@x", expect.stringMatching(/no default country/)]);
		expect(parsed[3][1]).toBe("'+999 123 456 789");

		// The operator fixes nothing but the country, and uploads the download back as is.
		const again = await importCsv(text, { defaultCountry: 'US' });
		expect(again.result).toMatchObject({ created: 1, invalid: 3 });
		expect(await contactByPhone('+14155550141')).toMatchObject({ name: 'No country', attributes: { note: '@x' } });
	});
});

describe('duplicates', () => {
	it('within the file: the first row wins and later ones are reported with the row they repeat', async () => {
		const csv = 'phone,name\n+14155550150,First\n+1 (415) 555-0150,Second\n+14155550151,Other\n';
		const done = await importCsv(csv);
		expect(done.result).toMatchObject({ created: 2, duplicate: 1 });
		expect(done.skippedCount).toBe(1);
		expect(await ledger(done.id)).toEqual([{ row_number: 3, outcome: 'duplicate', reason: 'same phone as row 2' }]);
		expect(await contactByPhone('+14155550150')).toMatchObject({ name: 'First' });
	});

	it('against the base with skipDuplicates: existing contacts stay as they are', async () => {
		await importCsv('phone,name,tags,city\n+14155550160,Old,a,Paris\n');
		const done = await importCsv('phone,name,tags,city\n+14155550160,New,b,Rome\n+14155550161,Fresh,,\n', { skipDuplicates: 'true', tags: 'x' });
		expect(done.result).toMatchObject({ created: 1, duplicate: 1, updated: 0 });
		expect(await contactByPhone('+14155550160')).toMatchObject({ name: 'Old', tags: ['a'], attributes: { city: 'Paris' } });
		expect((await ledger(done.id))[0]).toMatchObject({ row_number: 2, outcome: 'duplicate', reason: 'already in contacts' });
	});

	it('against the base without skipDuplicates: name and attributes update, tags merge without duplicates', async () => {
		await importCsv('phone,name,tags,city\n+14155550170,Old,"a,b",Paris\n');
		const csv = 'phone,name,tags,city,zip\n+14155550170,New,"b,c",Rome,75001\n+14155550170,,d,,\n';
		const done = await importCsv(csv, { skipDuplicates: 'false', tags: 'a' });
		expect(done.result).toMatchObject({ created: 0, updated: 2, duplicate: 0 });
		const c = await contactByPhone('+14155550170');
		expect(c.name).toBe('New');
		expect(c.attributes).toEqual({ city: 'Rome', zip: '75001' });
		expect([...c.tags].sort()).toEqual(['a', 'b', 'c', 'd']);
		// Re-importing the same file changes nothing: rows are reported as unchanged duplicates.
		const again = await importCsv(csv, { skipDuplicates: 'false', tags: 'a' });
		expect(again.result).toMatchObject({ created: 0, updated: 1, duplicate: 1 });
		expect([...(await contactByPhone('+14155550170')).tags].sort()).toEqual(['a', 'b', 'c', 'd']);
	});

	it('re-importing a file creates 0 contacts; two concurrent imports of one file create each contact once', async () => {
		const lines = ['phone,name'];
		for (let i = 0; i < 3000; i++) lines.push(`+1415556${String(i).padStart(4, '0')},N${i}`);
		const csv = lines.join('\n');
		const [a, b] = await Promise.all([upload(server, token, csv), upload(server, token, csv)]);
		expect([a.status, b.status]).toEqual([201, 201]);
		const [da, db] = await Promise.all([waitDone(a.body.id as string), waitDone(b.body.id as string)]);
		expect(da.status).toBe('COMPLETED');
		expect(db.status).toBe('COMPLETED');
		expect(da.result.created + db.result.created).toBe(3000);
		expect(da.result.duplicate + db.result.duplicate).toBe(3000);
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts where phone_e164 like '+1415556%'`;
		expect(n).toBe(3000);
		const again = await importCsv(csv);
		expect(again.result).toMatchObject({ created: 0, duplicate: 3000 });
	});
});
