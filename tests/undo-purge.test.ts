/**
 * Archives are kept ARCHIVE_RETENTION_DAYS after their batch ends, then purged by the
 * worker's daily cron task; a purged batch can no longer be undone, and says why.
 */
import { describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { useWorker } from './worker-helpers';
import { crontab, taskList } from '../worker/tasks';
import { TASK } from '../src/lib/server/jobs/payloads';
import { purgeArchives } from '../src/lib/server/undo/purge';
import { userCaller } from './helpers';
import { finished } from './undo-helpers';

useWorker();

describe('archive purge', () => {
	it('is scheduled in the worker crontab', () => {
		expect(crontab).toMatch(new RegExp(`^\\S+ \\S+ \\* \\* \\* ${TASK.archivePurge}$`, 'm'));
		expect(taskList[TASK.archivePurge]).toBeTypeOf('function');
	});

	it('purges archives past the retention and leaves younger ones; a purged batch is refused with its reason', async () => {
		const { call } = await userCaller('operator');
		await sql()`insert into contacts (phone_e164, name, tags) values ('+447300000001', 'Old', ${['purge-old']}), ('+447300000002', 'New', ${['purge-new']})`;
		const oldDel = await call.batch.delete({ filter: { tags: ['purge-old'] } });
		const newDel = await call.batch.delete({ filter: { tags: ['purge-new'] } });
		const oldImp = await call.batch.import({ skipDuplicates: false, contacts: [{ phoneE164: '+447300000003', name: 'Imp' }] });
		for (const b of [oldDel, newDel, oldImp]) expect(await finished(call, b.id)).toMatchObject({ status: 'COMPLETED' });
		await sql()`update batch_operations set completed_at = now() - interval '31 days' where id in (${oldDel.id}, ${oldImp.id})`;

		await purgeArchives({ retentionDays: 30 });

		const count = async (batchId: string) =>
			(await sql()<{ n: number }[]>`select count(*)::int as n from deleted_contacts where batch_id = ${batchId}`)[0].n;
		expect(await count(oldDel.id)).toBe(0);
		expect(await count(newDel.id)).toBe(1);
		const [chunk] = await sql()<{ created_ids: string[] | null }[]>`select created_ids from import_chunks where batch_id = ${oldImp.id}`;
		expect(chunk.created_ids).toBeNull();

		for (const id of [oldDel.id, oldImp.id]) {
			await expect(call.batch.undo({ batchId: id })).rejects.toMatchObject({
				code: 'PRECONDITION_FAILED',
				cause: expect.objectContaining({ reason: 'archive_purged' })
			});
		}
		// The younger one is still undone in full.
		const undo = await call.batch.undo({ batchId: newDel.id });
		expect(await finished(call, undo.id)).toMatchObject({ status: 'COMPLETED', successCount: 1 });
	});
});
