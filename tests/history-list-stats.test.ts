/**
 * batch.list and batch.stats on a crafted set of batches: values, filters, paging,
 * empty results, bad input; then the plans with 100 000 batches in the table.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { userCaller } from './helpers';

type Call = Awaited<ReturnType<typeof userCaller>>['call'];
let call: Call;
const ids: Record<string, string> = {};

async function batch(key: string, type: string, status: string, createdAt: string, processed: number, success: number, failed: number) {
	const [row] = await sql()<{ id: string }[]>`
		insert into batch_operations (type, status, created_at, total_count, processed_count, success_count, failed_count)
		values (${type}, ${status}, ${createdAt}, ${processed}, ${processed}, ${success}, ${failed}) returning id`;
	ids[key] = row.id;
}

beforeAll(async () => {
	call = (await userCaller('viewer')).call; // reads are open to viewers
	await batch('b1', 'SEND', 'COMPLETED', '2026-01-01T10:00:00Z', 100, 90, 10);
	await batch('b2', 'SEND', 'FAILED', '2026-01-01T12:00:00Z', 10, 0, 10);
	await batch('b3', 'IMPORT', 'COMPLETED', '2026-01-02T08:00:00Z', 50, 50, 0);
	await batch('b4', 'TAG', 'PENDING', '2026-01-03T00:00:00Z', 0, 0, 0);
	await batch('b5', 'DELETE', 'CANCELLED', '2026-01-03T23:59:00Z', 20, 20, 0);
});

async function expectBadRequest(p: Promise<unknown>) {
	const e = await p.then(
		() => null,
		(err) => err
	);
	expect(e).toBeInstanceOf(TRPCError);
	expect((e as TRPCError).code).toBe('BAD_REQUEST');
}

describe('batch.list', () => {
	it('lists newest first with the total, filtered by type and status, paged', async () => {
		const all = await call.batch.list();
		expect(all.total).toBe(5);
		expect(all.items.map((b) => b.id)).toEqual(['b5', 'b4', 'b3', 'b2', 'b1'].map((k) => ids[k]));
		expect(all.items[0]).toMatchObject({ type: 'DELETE', status: 'CANCELLED', processedCount: 20, progress: 100 });

		const sends = await call.batch.list({ type: 'SEND' });
		expect(sends.total).toBe(2);
		expect(sends.items.map((b) => b.id)).toEqual([ids.b2, ids.b1]);

		const completed = await call.batch.list({ status: 'COMPLETED' });
		expect(completed.items.map((b) => b.id)).toEqual([ids.b3, ids.b1]);

		const page = await call.batch.list({ limit: 2, offset: 1 });
		expect(page).toMatchObject({ total: 5 });
		expect(page.items.map((b) => b.id)).toEqual([ids.b4, ids.b3]);

		expect(await call.batch.list({ type: 'TAG', status: 'COMPLETED' })).toMatchObject({ items: [], total: 0 });
		expect((await call.batch.list({ offset: 10 })).items).toEqual([]);
	});

	it('refuses limit > 200, limit 0, a negative offset and unknown types', async () => {
		await expectBadRequest(call.batch.list({ limit: 201 }));
		await expectBadRequest(call.batch.list({ limit: 0 }));
		await expectBadRequest(call.batch.list({ offset: -1 }));
		await expectBadRequest(call.batch.list({ type: 'EXPORT' as never }));
		expect((await call.batch.list({ limit: 200 })).items).toHaveLength(5);
	});
});

describe('batch.stats', () => {
	it('aggregates the seed fields and a per-day series', async () => {
		const s = await call.batch.stats();
		expect(s).toMatchObject({
			total: 5,
			byType: { IMPORT: 1, SEND: 2, TAG: 1, DELETE: 1 },
			byStatus: { PENDING: 1, PROCESSING: 0, PAUSED: 0, COMPLETED: 2, FAILED: 1, CANCELLED: 1 },
			totalProcessed: 180,
			totalSuccess: 160,
			totalFailed: 20,
			successRate: 88.9
		});
		expect(s.perDay.map((d) => [d.date, d.total, d.processed, d.success, d.failed])).toEqual([
			['2026-01-01', 2, 110, 90, 20],
			['2026-01-02', 1, 50, 50, 0],
			['2026-01-03', 2, 20, 20, 0]
		]);
		expect(s.perDay[0].byType).toMatchObject({ SEND: 2, IMPORT: 0 });
	});

	it('filters by type, status and a created range (after inclusive, before exclusive)', async () => {
		const s = await call.batch.stats({ type: 'SEND', createdAfter: new Date('2026-01-01T11:00:00Z') });
		expect(s).toMatchObject({ total: 1, byType: { SEND: 1 }, byStatus: { FAILED: 1 }, successRate: 0, totalFailed: 10 });
		const range = await call.batch.stats({ createdAfter: '2026-01-02' as never, createdBefore: '2026-01-03T23:59:00Z' as never });
		expect(range).toMatchObject({ total: 2, byType: { IMPORT: 1, TAG: 1 } });
		const completed = await call.batch.stats({ status: 'COMPLETED' });
		expect(completed).toMatchObject({ total: 2, totalProcessed: 150, totalSuccess: 140, successRate: 93.3 });
	});

	it('returns zeros for an empty result', async () => {
		const s = await call.batch.stats({ createdAfter: new Date('2030-01-01') });
		expect(s).toMatchObject({ total: 0, successRate: 0, totalProcessed: 0, totalSuccess: 0, totalFailed: 0, perDay: [] });
		expect(s.byType).toEqual({ IMPORT: 0, SEND: 0, TAG: 0, DELETE: 0, UNDO: 0 });
	});

	it('refuses bad dates and an inverted range', async () => {
		await expectBadRequest(call.batch.stats({ createdAfter: 'not-a-date' as never }));
		await expectBadRequest(call.batch.stats({ createdAfter: new Date('2026-02-01'), createdBefore: new Date('2026-01-01') }));
		await expectBadRequest(call.batch.stats({ status: 'DONE' as never }));
	});
});

describe('with 100 000 batches', () => {
	it('pages the list through an index, not a scan and sort of the table', async () => {
		await sql()`insert into batch_operations (type, status, created_at, total_count, processed_count, success_count)
			select (array['IMPORT','SEND','TAG','DELETE'])[1 + g % 4], (array['COMPLETED','FAILED','CANCELLED','PENDING'])[1 + (g / 4) % 4],
				now() - make_interval(mins => g), 10, 10, 9
			from generate_series(1, 100000) g`;
		await sql()`analyze batch_operations`;
		const plan = async (q: string) =>
			(await sql().unsafe(`explain ${q}`)).map((r) => (r as Record<string, string>)['QUERY PLAN']).join('\n');
		const cols = 'select * from batch_operations';
		for (const where of ['', `where type = 'SEND'`, `where status = 'FAILED'`]) {
			const p = await plan(`${cols} ${where} order by created_at desc nulls last, id limit 50 offset 100`);
			expect(p, p).toMatch(/Index Scan/);
			expect(p, p).not.toMatch(/Seq Scan/);
		}
		const ranged = await plan(`select type, status, count(*) from batch_operations
			where created_at >= now() - interval '1 day' group by type, status`);
		expect(ranged, ranged).toMatch(/Index|Bitmap/);
		const s = await call.batch.stats();
		expect(s.total).toBe(100_005);
		expect((await call.batch.list({ type: 'TAG', limit: 200 })).total).toBe(25_001);
	});
});
