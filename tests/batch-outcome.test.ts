/**
 * A send that reaches nobody must not look like a success: it ends COMPLETED with the
 * outcome "failed" (red on the pages, counted apart in stats), each item's reason says
 * what happened (connection refused by host:port), and successRate leaves skips out.
 */
import { describe, expect, it } from 'vitest';
import { userCaller, waitFor } from './helpers';
import { sql } from '../src/lib/server/db/client';
import { outcomeOf } from '../src/lib/batch-kinds';
import { createChannel, ended, seedContacts, useSendWorker } from './send-helpers';

useSendWorker({ SEND_RETRY_BASE_MS: '10' });

describe('a send where every attempt failed', () => {
	it('ends with the outcome failed, the refused address in each reason, and stats that say so', async () => {
		const { call } = await userCaller('operator');
		await createChannel('refused', 'webhook', { url: 'http://127.0.0.1:9/hook', timeoutMs: 1000 });
		const ids = await seedContacts(3, { prefix: '+1887' });
		const b = await call.batch.send({ contactIds: ids, content: 'hello', channelId: 'refused' });
		await ended(b.id, 60_000);
		const s = await call.batch.status({ batchId: b.id });
		expect(s).toMatchObject({ status: 'COMPLETED', successCount: 0, failedCount: 3 });
		expect(outcomeOf(s)).toBe('failed');
		const items = await call.batch.items({ batchId: b.id, limit: 10 });
		for (const it of items.items) {
			expect(it.status).toBe('failed');
			expect(it.errorMessage).toMatch(/connection refused by 127\.0\.0\.1:9 \(ECONNREFUSED\)/);
		}
		const stats = await call.batch.stats({ type: 'SEND', createdAfter: new Date(Date.now() - 3_600_000) });
		expect(stats.completedOutcomes.failed).toBeGreaterThanOrEqual(1);
	});

	it('successRate counts attempts only: a send with skips and no failure is 100%', async () => {
		const { call } = await userCaller('operator');
		const ids = await seedContacts(6, { prefix: '+1886', optedOut: [0, 1] });
		const since = new Date();
		await sql()`select pg_sleep(0.01)`;
		const b = await call.batch.send({ contactIds: ids, content: 'hi' });
		await ended(b.id);
		await waitFor(async () => (await call.batch.status({ batchId: b.id })).successCount === 4);
		const stats = await call.batch.stats({ type: 'SEND', createdAfter: since });
		expect(stats).toMatchObject({ total: 1, totalProcessed: 6, totalSkipped: 2, totalSuccess: 4, successRate: 100 });
		expect(stats.completedOutcomes).toEqual({ ok: 1, partial: 0, failed: 0 });
	});
});
