/**
 * batch.get shares one ledger count between calls for the same batch state (chaos h):
 * what it answers must still follow every change of the batch at once.
 */
import { describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { userCaller } from './helpers';
import { seedContacts } from './send-helpers';

describe('batch.get item counts', () => {
	it('answers many calls at once with one count, and a change of the batch with a fresh one', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(30, { prefix: '+1961' });
		const batch = await call.batch.send({ contactIds: ids, content: 'x' });
		const many = await Promise.all(Array.from({ length: 20 }, () => call.batch.get({ batchId: batch.id })));
		expect(many.every((g) => g.items.byStatus.pending === 30)).toBe(true);
		// Ten items sent, as a worker records them: items and counters (updated_at) in one statement.
		await sql()`
			with s as (update batch_items set status = 'sent' where id in (select id from batch_items where batch_id = ${batch.id} order by id limit 10) returning 1)
			update batch_operations set processed_count = processed_count + (select count(*) from s), updated_at = clock_timestamp() where id = ${batch.id}`;
		const after = await call.batch.get({ batchId: batch.id });
		expect(after.items.byStatus).toEqual({ pending: 20, sent: 10 });
	});
});
