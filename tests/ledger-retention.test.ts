/**
 * Ledger retention (issue 15): a batch that ended more than LEDGER_RETENTION_DAYS ago
 * keeps its counts, error summary and failed rows, and loses its other per-item rows,
 * by the worker's daily task; batch.get/status/items keep working and say so; the
 * stats page's table sizes answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { enqueue } from '../src/lib/server/jobs/enqueue';
import { TASK } from '../src/lib/server/jobs/payloads';
import { crontab } from '../worker/tasks';
import { pruneLedgers } from '../src/lib/server/ledger/retention';
import { startTestWorker } from './import-helpers';
import { userCaller, waitFor } from './helpers';
import type { WorkerHandle } from '../worker/index';

let worker: WorkerHandle;
beforeAll(async () => {
	worker = await startTestWorker();
});
afterAll(async () => {
	await worker.stop();
});

/** A finished SEND batch `daysAgo` old: 6 sent, 2 failed (a provider error), 1 skipped. */
async function oldSend(daysAgo: number): Promise<string> {
	const [b] = await sql()<{ id: string }[]>`
		insert into batch_operations (type, status, total_count, processed_count, success_count, failed_count, skipped_count, completed_at)
		values ('SEND', 'COMPLETED', 9, 9, 6, 2, 1, now() - make_interval(days => ${daysAgo})) returning id`;
	await sql()`
		insert into batch_items (batch_id, contact_id, phone, status, error_code, error_message)
		select ${b.id}, g, '+1415555' || lpad(g::text, 4, '0'),
			case when g <= 6 then 'sent' when g <= 8 then 'failed' else 'skipped' end,
			case when g between 7 and 8 then '21211' when g = 9 then 'opted_out' end,
			case when g between 7 and 8 then 'Invalid To number' end
		from generate_series(1, 9) g`;
	await sql()`insert into batch_targets (batch_id, ids) values (${b.id}, ${Buffer.alloc(72)})`;
	return b.id;
}

/** A finished IMPORT batch: 3 duplicate and 1 updated rows in the ledger, 2 invalid, 2 chunks. */
async function oldImport(daysAgo: number): Promise<string> {
	const [b] = await sql()<{ id: string }[]>`
		insert into batch_operations (type, status, total_count, processed_count, success_count, failed_count, completed_at)
		values ('IMPORT', 'COMPLETED', 20, 20, 18, 2, now() - make_interval(days => ${daysAgo})) returning id`;
	await sql()`
		insert into import_rows (batch_id, row_number, outcome, reason, raw)
		select ${b.id}, g + 1, case when g <= 3 then 'duplicate' when g = 4 then 'updated' else 'invalid' end,
			case when g > 4 then 'phone number is too short' end, '["123"]'::jsonb
		from generate_series(1, 6) g`;
	await sql()`insert into import_chunks (batch_id, first_row, last_row) values (${b.id}, 2, 11), (${b.id}, 12, 21)`;
	return b.id;
}

const count = async (table: 'batch_items' | 'import_rows' | 'import_chunks' | 'batch_targets', batchId: string) =>
	(await sql()<{ n: number }[]>`select count(*)::int as n from ${sql()(table)} where batch_id = ${batchId}`)[0].n;

describe('ledger retention', () => {
	it('is scheduled daily as a graphile-worker cron task', () => {
		expect(crontab).toMatch(new RegExp(`^\\S+ \\S+ \\* \\* \\* ${TASK.ledgerRetention}$`, 'm'));
	});

	it('drops the per-item rows of batches past 90 days, keeps counts, error summary and failed rows; batch.get/status/items still answer', async () => {
		const send = await oldSend(100);
		const imp = await oldImport(91);
		const recent = await oldSend(10);
		const running = await oldSend(200);
		await sql()`update batch_operations set status = 'PAUSED' where id = ${running}`;
		const admin = await userCaller('admin');
		const before = await admin.call.batch.get({ batchId: send });
		const importBefore = await admin.call.batch.get({ batchId: imp });

		// By the worker's task, as the cron runs it.
		await enqueue(TASK.ledgerRetention, {});
		await waitFor(async () => (await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where (details_pruned->>'done')::boolean`)[0].n === 2, 30_000);

		expect(await count('batch_items', send)).toBe(2);
		expect(await count('batch_targets', send)).toBe(0);
		expect(await count('import_rows', imp)).toBe(2);
		expect(await count('import_chunks', imp)).toBe(0);
		// Not yet due, or not finished: untouched.
		expect(await count('batch_items', recent)).toBe(9);
		expect(await count('batch_items', running)).toBe(9);

		const after = await admin.call.batch.get({ batchId: send });
		expect(after.items).toEqual(before.items);
		expect(after.successCount).toBe(6);
		expect(after.failedCount).toBe(2);
		expect(after.detailsPruned).toMatchObject({ afterDays: 90 });
		expect((await admin.call.batch.get({ batchId: imp })).items).toEqual(importBefore.items);
		expect((await admin.call.batch.status({ batchId: send })).detailsPruned?.afterDays).toBe(90);
		expect((await admin.call.batch.get({ batchId: recent })).detailsPruned).toBeNull();
		const page = await admin.call.batch.items({ batchId: send, limit: 50, offset: 0 });
		expect(page.items.map((i) => i.status)).toEqual(['failed', 'failed']);
		expect(page.items[0].errorCode).toBe('21211');

		// A second run finds nothing left to do.
		expect(await pruneLedgers()).toEqual({ batches: 0, rows: 0 });
	});

	it('LEDGER_RETENTION_DAYS=0 keeps everything', async () => {
		const send = await oldSend(400);
		expect(await pruneLedgers({ days: 0 })).toEqual({ batches: 0, rows: 0 });
		expect(await count('batch_items', send)).toBe(9);
	});

	it('the stats page gets the main tables with their size on disk', async () => {
		const viewer = await userCaller('viewer');
		const sizes = await viewer.call.batch.tableSizes();
		expect(sizes.retentionDays).toBe(90);
		const names = sizes.tables.map((t) => t.table);
		for (const t of ['contacts', 'batch_operations', 'batch_items', 'import_rows', 'upload_chunks', 'deleted_contacts']) expect(names).toContain(t);
		expect(sizes.tables.find((t) => t.table === 'batch_items')!.bytes).toBeGreaterThan(0);
	});
});
