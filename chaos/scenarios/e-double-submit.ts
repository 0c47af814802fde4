/**
 * e. Double submits: 50 concurrent identical batch.send requests with one idempotency
 * key (50 separate HTTP requests, as double clicks and proxy retries are) create one
 * batch; a different body under the key is a CONFLICT. The same for batch.import,
 * batch.tags, batch.delete and the CSV upload route (Idempotency-Key header).
 */
import { defineScenario, invariants, percentile, round } from '../lib/scenario';
import { startStack, trpcMutation } from '../lib/stack';
import { batchCount, seedContacts } from '../lib/db';
import { uploadCsv } from '../lib/api';

const N = 50;

export default defineScenario({
	name: '50 concurrent identical submits with one idempotency key',
	async run() {
		const stack = await startStack({ workers: 0 });
		const inv = invariants();
		try {
			const { url } = stack.web;
			const token = stack.token;
			const ids = await seedContacts(200, '+1950');
			const figures: Record<string, unknown> = {};

			const same = async (what: string, type: string, call: () => Promise<{ status: number; ms: number; id: string | null }>, other: () => Promise<{ status: number; code: string | null }>) => {
				const before = await batchCount(type);
				const answers = await Promise.all(Array.from({ length: N }, call));
				const created = (await batchCount(type)) - before;
				const distinct = new Set(answers.map((a) => a.id)).size;
				const errors = answers.filter((a) => a.status !== 200 && a.status !== 201).length;
				const conflict = await other();
				const after = (await batchCount(type)) - before;
				figures[what] = {
					requests: N,
					batchesCreated: created,
					distinctIds: distinct,
					errors,
					p50Ms: round(percentile(answers.map((a) => a.ms), 50)),
					maxMs: round(Math.max(...answers.map((a) => a.ms))),
					otherBodySameKey: conflict.code ?? conflict.status
				};
				inv.check(created === 1 && distinct === 1 && errors === 0, `${what}: ${created} batches, ${distinct} ids, ${errors} errors for ${N} identical requests`);
				inv.check(conflict.code === 'CONFLICT' || conflict.status === 409, `${what}: another body under the key answered ${conflict.code ?? conflict.status}`);
				inv.check(after === 1, `${what}: the conflicting request created a batch`);
			};

			const mutation = (procedure: string, input: Record<string, unknown>) => async () => {
				const r = await trpcMutation(url, token, procedure, input);
				return { status: r.status, ms: r.ms, id: (r.data?.id as string | undefined) ?? null, code: r.code };
			};
			const send = { contactIds: ids, content: 'Hello {{name}}', idempotencyKey: 'chaos-send' };
			await same('batch.send', 'SEND', mutation('batch.send', send), mutation('batch.send', { ...send, content: 'Other' }));
			const imp = { contacts: [{ phoneE164: '+14155550100', name: 'Ann' }], idempotencyKey: 'chaos-import' };
			await same('batch.import', 'IMPORT', mutation('batch.import', imp), mutation('batch.import', { ...imp, contacts: [{ phoneE164: '+14155550101' }] }));
			const tags = { contactIds: ids, tags: ['vip'], operation: 'add', idempotencyKey: 'chaos-tags' };
			await same('batch.tags', 'TAG', mutation('batch.tags', tags), mutation('batch.tags', { ...tags, operation: 'remove' }));
			const del = { contactIds: ids.slice(0, 10), idempotencyKey: 'chaos-delete' };
			await same('batch.delete', 'DELETE', mutation('batch.delete', del), mutation('batch.delete', { ...del, contactIds: ids.slice(0, 11) }));
			const csv = 'phone,name\n' + Array.from({ length: 500 }, (_, i) => `+1415${5550000 + i},Name ${i}`).join('\n') + '\n';
			const up = (body: string) => async () => {
				const r = await uploadCsv(url, token, body, {}, { 'idempotency-key': 'chaos-upload' });
				return { status: r.status, ms: r.ms, id: r.body.id ?? null, code: r.body.error?.code ?? null };
			};
			await same('upload (Idempotency-Key)', 'IMPORT', up(csv), up(csv + '+14155559999,Extra\n'));
			return inv.result(figures);
		} finally {
			await stack.stop();
		}
	}
});
