/**
 * contacts.* through the tRPC caller against real Postgres, and batch.import (JSON)
 * run by the real worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { startWorker, type WorkerHandle } from '../worker/index';
import { userCaller } from './helpers';
import { waitDone } from './import-helpers';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 2 });
	await sql()`insert into contacts (phone_e164, name, tags, attributes)
		select '+8613900' || lpad(g::text, 6, '0'), case when g % 2 = 0 then '张伟 ' || g else 'Ann ' || g end,
			case when g % 3 = 0 then array['vip', 'beijing'] else array['lead'] end, '{}'::jsonb
		from generate_series(1, 120) g`;
});
afterAll(() => worker.stop());

describe('contacts', () => {
	it('lists newest first with total, searches name and phone, filters by tags, pages', async () => {
		const { call } = await userCaller('viewer');
		const all = await call.contacts.list({ limit: 50 });
		expect(all.total).toBe(120);
		expect(all.items).toHaveLength(50);
		expect(all.items[0].id).toBeGreaterThan(all.items[1].id);

		const byName = await call.contacts.list({ search: '张伟' });
		expect(byName.total).toBe(60);
		// Phone search is by prefix and ignores spacing and the "+": "+86 139 00 0001" finds
		// …00001, …00010-19 and …000100-120. (It used to match anywhere in the number; a
		// match in the middle has no index at 10M contacts, so it went — issue 15.)
		const byPhone = await call.contacts.list({ search: '+86 139 00 0001', limit: 200 });
		const want = Array.from({ length: 120 }, (_, i) => `+8613900${String(i + 1).padStart(6, '0')}`).filter((p) => p.startsWith('+861390000'));
		expect(byPhone.items.map((c) => c.phoneE164).sort()).toEqual(want.filter((p) => p.startsWith('+86139000001')).sort());
		expect(byPhone).toMatchObject({ total: byPhone.items.length, totalExact: true });
		expect((await call.contacts.list({ search: '86139000001' })).total).toBe(byPhone.total);
		expect((await call.contacts.list({ search: '00 0012' })).total).toBe(0);
		const vip = await call.contacts.list({ tags: ['vip', 'beijing'], limit: 10, offset: 30 });
		expect(vip.total).toBe(40);
		expect(vip.items).toHaveLength(10);
		expect(vip.items.every((c) => c.tags.includes('vip'))).toBe(true);

		const last = await call.contacts.list({ limit: 50, offset: 100 });
		expect(last.items).toHaveLength(20);
	});

	it('finds a name search of several words as one substring, whatever the words around it', async () => {
		// Each word is looked up in the trigram index on its own; the whole search still decides.
		const names = ['Anna Kowalski', 'Joanna Kowal', 'Kowalski Anna', 'Anna Maria Kowalska', 'Omar Wu', 'Omar Wulf', 'Omar Li Wu', 'ANNA KOWALEWSKA', 'Anna 100% Kow_x'];
		await sql()`insert into contacts (phone_e164, name)
			select '+8613700' || lpad(n::text, 6, '0'), t.name from unnest(${names}::text[]) with ordinality as t(name, n)`;
		const { call } = await userCaller('viewer');
		const found = async (search: string) => (await call.contacts.list({ search, limit: 50 })).items.map((c) => c.name).sort();
		expect(await found('anna kow')).toEqual(['ANNA KOWALEWSKA', 'Anna Kowalski', 'Joanna Kowal'].sort());
		expect(await found('Omar Wu')).toEqual(['Omar Wu', 'Omar Wulf']);
		expect(await found('nna  kow')).toEqual([]); // two spaces: not a substring of any
		expect(await found('100% Kow_')).toEqual(['Anna 100% Kow_x']); // % and _ as written
		await sql()`delete from contacts where phone_e164 like '+8613700%'`;
	});

	it('lists tags with counts, most used first', async () => {
		const { call } = await userCaller('viewer');
		const tags = await call.contacts.tags();
		expect(tags.slice(0, 3)).toEqual([
			{ tag: 'lead', count: 80 },
			{ tag: 'beijing', count: 40 },
			{ tag: 'vip', count: 40 }
		]);
	});

	it('gets and updates one contact; viewers cannot edit; unknown ids are NOT_FOUND', async () => {
		const { call } = await userCaller('operator');
		const [first] = (await call.contacts.list({ search: 'Ann 1', limit: 1 })).items;
		const updated = await call.contacts.update({
			id: first.id,
			name: 'Ann Updated',
			tags: ['vip', 'vip', 'new'],
			attributes: { city: 'Paris' },
			optedOut: true
		});
		expect(updated).toMatchObject({ name: 'Ann Updated', tags: ['vip', 'new'], attributes: { city: 'Paris' } });
		expect(updated.optedOutAt).toBeInstanceOf(Date);
		expect(await call.contacts.get({ id: first.id })).toMatchObject({ name: 'Ann Updated' });
		const back = await call.contacts.update({ id: first.id, optedOut: false });
		expect(back.optedOutAt).toBeNull();
		expect(back.name).toBe('Ann Updated');

		const viewer = await userCaller('viewer');
		await expect(viewer.call.contacts.update({ id: first.id, name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
		await expect(call.contacts.get({ id: 999999 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
		await expect(call.contacts.update({ id: first.id, tags: [' '] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
	});
});

describe('batch.import (JSON)', () => {
	it('returns the PENDING batch at once; the worker imports it with per-row outcomes', async () => {
		const { call } = await userCaller('operator');
		const batch = await call.batch.import({
			contacts: [
				{ phoneE164: '+14155550199', name: 'New', tags: ['a'], attributes: { city: 'Rome' } },
				{ phoneE164: '+8613900000001', name: 'Existing' },
				{ phoneE164: '+1 415 555 0199', name: 'Repeat' },
				{ phoneE164: 'nope' },
				{ phoneE164: '02079460000' }
			],
			tags: ['json'],
			source: 'api',
			defaultCountry: 'GB'
		});
		expect(batch).toMatchObject({ type: 'IMPORT', status: 'PENDING', totalCount: 5 });
		const done = await waitDone(batch.id);
		expect(done.status).toBe('COMPLETED');
		expect(done.result).toMatchObject({ created: 2, duplicate: 2, invalid: 1, updated: 0 });
		expect(done).toMatchObject({ processedCount: 5, successCount: 2, skippedCount: 2, failedCount: 1, progress: 100 });
		const ledger = await call.batch.importRows({ batchId: batch.id });
		expect(ledger.rows.map((r) => [r.rowNumber, r.outcome, r.reason])).toEqual([
			[2, 'duplicate', 'already in contacts'],
			[3, 'duplicate', 'same phone as row 1'],
			[4, 'invalid', 'phone contains letters or symbols']
		]);
		const [c] = await sql()`select name, tags, source from contacts where phone_e164 = '+442079460000'`;
		expect(c).toMatchObject({ tags: ['json'], source: 'api' });
		const detail = await call.batch.get({ batchId: batch.id });
		expect(detail.items.byStatus).toMatchObject({ duplicate: 2, invalid: 1 });
	});
});
