/**
 * Issue 15 at 10M contacts: the tag list and the unfiltered total come from counts the
 * triggers of drizzle/0012 keep (tag_counts, contact_totals), so every path that writes
 * contacts must leave them equal to a scan. Also: search by phone prefix and by name
 * substring returns the right rows, and a broad search's total is capped while
 * "select all matching" (batch.targetCount) stays exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { startWorker, type WorkerHandle } from '../worker/index';
import { userCaller } from './helpers';
import { waitDone } from './import-helpers';
import { finished } from './undo-helpers';
import { SEARCH_TOTAL_CAP } from '../src/lib/server/contacts/service';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startWorker({ concurrency: 2 });
});
afterAll(() => worker.stop());

/** The maintained counts next to the scan they replace; they must be equal. */
async function expectCountsExact() {
	const q = sql();
	const kept = await q<{ tag: string; n: number }[]>`select tag, contacts::int as n from tag_counts where contacts <> 0 order by tag`;
	const scanned = await q<{ tag: string; n: number }[]>`select t as tag, count(*)::int as n from contacts, unnest(tags) t group by t order by t`;
	expect(kept).toEqual(scanned);
	const [{ kept: total, scanned: all }] = await q<{ kept: number; scanned: number }[]>`
		select (select contacts::int from contact_totals) as kept, (select count(*)::int from contacts) as scanned`;
	expect(total).toBe(all);
}

describe('tag counts and the contact total stay exact', () => {
	it('through import (both modes), contacts.update, bulk tags (add/remove/set, ids and filter), delete, undo of delete and of import, truncate', async () => {
		const { call } = await userCaller('admin');
		await expectCountsExact();
		// Import, skip mode: new contacts, repeats inside the file, an invalid row.
		const contacts = Array.from({ length: 60 }, (_, i) => ({
			phoneE164: `+4479110${String(i % 50).padStart(5, '0')}`,
			name: `Count ${i}`,
			tags: i % 3 === 0 ? ['cnt-a', 'cnt-b'] : ['cnt-a']
		}));
		const imp = await call.batch.import({ contacts: [...contacts, { phoneE164: 'nope' }], tags: ['cnt-import'], skipDuplicates: true });
		expect((await waitDone(imp.id)).status).toBe('COMPLETED');
		await expectCountsExact();
		const tags = await call.contacts.tags();
		expect(tags).toEqual(expect.arrayContaining([{ tag: 'cnt-a', count: 50 }, { tag: 'cnt-import', count: 50 }]));

		// Import, update mode: tags merge into existing contacts (an upsert: insert and update triggers).
		const upd = await call.batch.import({
			contacts: [
				{ phoneE164: '+447911000001', tags: ['cnt-c'] },
				{ phoneE164: '+447911000002', name: 'Renamed' },
				{ phoneE164: '+447911099999', tags: ['cnt-c'] }
			],
			skipDuplicates: false
		});
		expect((await waitDone(upd.id)).status).toBe('COMPLETED');
		await expectCountsExact();
		expect((await call.contacts.tags()).find((t) => t.tag === 'cnt-c')?.count).toBe(2);

		// contacts.update: tags replaced, then only the name (no tag change).
		const [one] = (await call.contacts.list({ search: '+44 7911 000003' })).items;
		await call.contacts.update({ id: one.id, tags: ['cnt-solo', 'cnt-a', 'cnt-solo'] });
		await call.contacts.update({ id: one.id, name: 'Only the name' });
		await expectCountsExact();

		// Bulk tags: add / remove / set by filter and by ids.
		for (const input of [
			{ filter: { tags: ['cnt-a'] }, tags: ['cnt-bulk'], operation: 'add' as const },
			{ contactIds: [one.id], tags: ['cnt-bulk', 'cnt-b'], operation: 'remove' as const },
			{ filter: { search: '+44 7911 0000' }, tags: ['cnt-set', 'cnt-a'], operation: 'set' as const },
			{ filter: { tags: ['cnt-b'] }, tags: ['cnt-b'], operation: 'remove' as const }
		]) {
			const b = await call.batch.tags(input);
			expect((await finished(call, b.id)).status).toBe('COMPLETED');
			await expectCountsExact();
		}

		// Delete by filter, then its undo brings the contacts (and their tags) back.
		const before = await call.contacts.tags();
		const del = await call.batch.delete({ filter: { tags: ['cnt-set'] } });
		expect(await finished(call, del.id)).toMatchObject({ status: 'COMPLETED', successCount: 50 });
		await expectCountsExact();
		expect((await call.contacts.tags()).find((t) => t.tag === 'cnt-set')).toBeUndefined();
		const undo = await call.batch.undo({ batchId: del.id });
		expect((await finished(call, undo.id)).status).toBe('COMPLETED');
		await expectCountsExact();
		expect(await call.contacts.tags()).toEqual(before);

		// Undo of the update-mode import: created contacts go, updated ones get their old values.
		const undoImport = await call.batch.undo({ batchId: upd.id });
		expect((await finished(call, undoImport.id)).status).toBe('COMPLETED');
		await expectCountsExact();

		// The unfiltered total is the kept one, exact.
		const all = await call.contacts.list({ limit: 1 });
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from contacts`;
		expect(all).toMatchObject({ total: n, totalExact: true });
	});

	it('two imports at once (two lanes each) and a truncate', async () => {
		const { call } = await userCaller('admin');
		const make = (base: number) =>
			Array.from({ length: 300 }, (_, i) => ({ phoneE164: `+4479118${String(base + i).padStart(5, '0')}`, tags: [`par-${i % 7}`, 'par'] }));
		// Overlapping phones: 150 shared between the two files.
		const [a, b] = await Promise.all([call.batch.import({ contacts: make(0) }), call.batch.import({ contacts: make(150) })]);
		expect((await waitDone(a.id)).status).toBe('COMPLETED');
		expect((await waitDone(b.id)).status).toBe('COMPLETED');
		await expectCountsExact();
		expect((await call.contacts.tags()).find((t) => t.tag === 'par')?.count).toBe(450);
		await sql()`truncate contacts cascade`;
		await expectCountsExact();
		expect(await call.contacts.tags()).toEqual([]);
	});
});

describe('search at scale: phone prefix and name substring', () => {
	beforeAll(async () => {
		await sql()`insert into contacts (phone_e164, name, tags)
			select '+1212555' || lpad(g::text, 4, '0'), case when g % 10 = 0 then 'Zoë Kowalski ' || g else 'Pat Lee ' || g end,
				array['srch', 's' || (g % 4)]
			from generate_series(1, 200) g`;
	});

	it('finds by the start of the phone however it is typed, by any part of the name, and combines with tags', async () => {
		const { call } = await userCaller('viewer');
		const pre = await call.contacts.list({ search: '+1 (212) 555-001', limit: 200 });
		expect(pre.items.map((c) => c.phoneE164).sort()).toEqual(
			Array.from({ length: 10 }, (_, i) => `+1212555001${i}`).sort()
		);
		expect(pre).toMatchObject({ total: 10, totalExact: true });
		// Substring of the name, any case, with accents; newest first.
		const byName = await call.contacts.list({ search: 'owALsk', limit: 200 });
		expect(byName.total).toBe(20);
		expect(byName.items.every((c) => c.name!.startsWith('Zoë Kowalski'))).toBe(true);
		expect(byName.items[0].id).toBeGreaterThan(byName.items[1].id);
		expect((await call.contacts.list({ search: 'zoë' })).total).toBe(20);
		// % and _ are literal in a search.
		expect((await call.contacts.list({ search: 'Lee_1' })).total).toBe(0);
		// With tags: both must hold.
		const both = await call.contacts.list({ search: 'kowalski', tags: ['s0'], limit: 200 });
		expect(both.items.map((c) => c.name).sort()).toEqual(
			Array.from({ length: 200 }, (_, i) => i + 1).filter((g) => g % 10 === 0 && g % 4 === 0).map((g) => `Zoë Kowalski ${g}`).sort()
		);
		// One tag: its exact kept count.
		expect(await call.contacts.list({ tags: ['s1'], limit: 1 })).toMatchObject({ total: 50, totalExact: true });
	});

	it('caps a broad search total, and batch.targetCount (select all matching) stays exact', async () => {
		const { call } = await userCaller('operator');
		await sql()`insert into contacts (phone_e164, name, tags)
			select '+1646555' || lpad(g::text, 5, '0'), 'Broad ' || g, array['broad'] from generate_series(1, ${SEARCH_TOTAL_CAP + 5}) g`;
		const res = await call.contacts.list({ search: 'broad', limit: 5 });
		expect(res).toMatchObject({ total: SEARCH_TOTAL_CAP, totalExact: false });
		expect(res.items).toHaveLength(5);
		expect((await call.batch.targetCount({ filter: { search: 'broad' } })).count).toBe(SEARCH_TOTAL_CAP + 5);
		expect(await call.contacts.list({ tags: ['broad'], limit: 1 })).toMatchObject({ total: SEARCH_TOTAL_CAP + 5, totalExact: true });
	});
});
