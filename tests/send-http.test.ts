import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { userCaller } from './helpers';
import { batchRow, createChannel, ended, itemCounts, seedContacts, useSendWorker } from './send-helpers';
import { startFakeProvider } from './fake-provider';
import { sql } from '../src/lib/server/db/client';

useSendWorker();
const done = (id: string) => ended(id);

describe('webhook channel', () => {
	it('POSTs signed JSON with an Idempotency-Key per item, retries 429 (after Retry-After) and 500, fails 400 for good', async () => {
		// Request 0 → 429 Retry-After 1 s, request 1 → 500, request 2 → 400 (permanent); the rest succeed.
		const fake = await startFakeProvider((n) =>
			n === 0
				? { kind: 'status', status: 429, retryAfter: '1' }
				: n === 1
					? { kind: 'status', status: 500 }
					: n === 2
						? { kind: 'status', status: 400 }
						: { kind: 'ok' }
		);
		try {
			await createChannel('hook1', 'webhook', { url: `${fake.url}/hook`, secret: 'shh', timeoutMs: 2000 });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(20, { prefix: '+1801' });
			const res = await call.batch.send({ contactIds: ids, content: 'Hi {{name}}', channelId: 'hook1' });
			await done(res.id);
			const b = await batchRow(res.id);
			expect(b).toMatchObject({ status: 'COMPLETED', total_count: 20, processed_count: 20, success_count: 19, failed_count: 1 });
			expect(await itemCounts(res.id)).toEqual({ sent: 19, failed: 1 });

			const first = fake.requests[0];
			const body = JSON.parse(first.body);
			expect(first.headers['content-type']).toBe('application/json');
			expect(first.headers['x-batchdesk-signature']).toBe(`sha256=${createHmac('sha256', 'shh').update(first.body).digest('hex')}`);
			expect(first.idempotencyKey).toBe(body.idempotencyKey);
			expect(first.idempotencyKey).toMatch(new RegExp(`^${res.id}:\\d+$`));
			expect(body.body).toMatch(/^Hi Name \d+$/);

			// The rate-limited item came back with the same key, no sooner than Retry-After.
			const again = fake.requests.filter((r) => r.idempotencyKey === first.idempotencyKey);
			expect(again.length).toBe(2);
			expect(again[1].at - again[0].at).toBeGreaterThanOrEqual(1000);
			const [failed] = await sql()<{ error_class: string; error_code: string; attempts: number }[]>`
				select error_class, error_code, attempts from batch_items where batch_id = ${res.id} and status = 'failed'`;
			expect(failed).toEqual({ error_class: 'permanent', error_code: 'http_400', attempts: 1 });
			// Every item delivered once (distinct keys of 2xx answers = sent items).
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(20);
		} finally {
			await fake.close();
		}
	});

	it('a provider that keeps failing gets at most 5 attempts per item; retry-failed tries again', async () => {
		let healthy = false;
		const fake = await startFakeProvider((_n, req) =>
			healthy ? { kind: 'ok' } : req.idempotencyKey?.endsWith('0') ? { kind: 'reset' } : { kind: 'status', status: 503 }
		);
		try {
			await createChannel('hook2', 'webhook', { url: fake.url, timeoutMs: 1000 });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(3, { prefix: '+1802' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hook2' });
			await done(res.id);
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', failed_count: 3, success_count: 0 });
			expect(fake.requests.length).toBe(15);
			const rows = await sql()<{ attempts: number; error_class: string }[]>`select attempts, error_class from batch_items where batch_id = ${res.id}`;
			expect(rows.every((r) => r.attempts === 5 && r.error_class === 'transient')).toBe(true);

			healthy = true;
			const retried = await call.batch.retryFailed({ batchId: res.id });
			expect(retried.retried).toBe(3);
			expect(retried.status).toBe('PROCESSING');
			await done(res.id);
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', failed_count: 0, success_count: 3, processed_count: 3 });
			await expect(call.batch.retryFailed({ batchId: res.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		} finally {
			await fake.close();
		}
	});

	it('a hanging provider times out as transient and is retried', async () => {
		const fake = await startFakeProvider((n) => (n === 0 ? { kind: 'hang' } : { kind: 'ok' }));
		try {
			await createChannel('hook3', 'webhook', { url: fake.url, timeoutMs: 300 });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1803' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hook3' });
			await done(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 1 });
			expect(fake.requests.length).toBe(2);
		} finally {
			await fake.close();
		}
	});
});

describe('Twilio and WhatsApp wire formats', () => {
	it('Twilio: form-encoded To/From/Body with basic auth to Messages.json', async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('tw1', 'twilio', { baseUrl: fake.url, accountSid: 'AC123', authToken: 'tok', from: '+15550001111' });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1804' });
			const res = await call.batch.send({ contactIds: ids, content: 'Hello {{name}}', channelId: 'tw1' });
			await done(res.id);
			const r = fake.requests[0];
			expect(r.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
			expect(r.headers.authorization).toBe(`Basic ${Buffer.from('AC123:tok').toString('base64')}`);
			expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
			expect(Object.fromEntries(new URLSearchParams(r.body))).toEqual({ To: '+18040000001'.replace('+1804', '+1804'), From: '+15550001111', Body: 'Hello Name 1' });
			const [item] = await sql()<{ provider_message_id: string }[]>`select provider_message_id from batch_items where batch_id = ${res.id}`;
			expect(item.provider_message_id).toBe('SMmsg_1');
		} finally {
			await fake.close();
		}
	});

	it('WhatsApp Cloud API: JSON text message with a bearer token', async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('wa1', 'whatsapp', { baseUrl: fake.url, apiVersion: 'v21.0', phoneNumberId: '1055', accessToken: 'EAAB' });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1805' });
			const res = await call.batch.send({ contactIds: ids, content: 'Yo', channelId: 'wa1' });
			await done(res.id);
			const r = fake.requests[0];
			expect(r.path).toBe('/v21.0/1055/messages');
			expect(r.headers.authorization).toBe('Bearer EAAB');
			expect(JSON.parse(r.body)).toMatchObject({ messaging_product: 'whatsapp', to: '18050000001', type: 'text', text: { body: 'Yo' } });
			const [item] = await sql()<{ provider_message_id: string }[]>`select provider_message_id from batch_items where batch_id = ${res.id}`;
			expect(item.provider_message_id).toBe('wamid.msg_1');
		} finally {
			await fake.close();
		}
	});
});

describe('channel throughput cap', () => {
	it('holds across batches sharing a channel: never more than a second of burst plus rate × time', async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('hookcap', 'webhook', { url: fake.url }, 20);
			const { call } = await userCaller('operator');
			const a = await seedContacts(30, { prefix: '+1806' });
			const b = await seedContacts(30, { prefix: '+1807' });
			const [r1, r2] = await Promise.all([
				call.batch.send({ contactIds: a, content: 'x', channelId: 'hookcap' }),
				call.batch.send({ contactIds: b, content: 'x', channelId: 'hookcap' })
			]);
			await done(r1.id);
			await done(r2.id);
			expect(fake.requests.length).toBe(60);
			// A full bucket lets 20 through at once; the other 40 need at least 2 s at 20/s.
			const times = fake.requests.map((r) => r.at).sort((x, y) => x - y);
			for (let i = 0; i < times.length; i++) {
				const inWindow = times.filter((t) => t >= times[i] && t < times[i] + 1000).length;
				expect(inWindow).toBeLessThanOrEqual(40);
			}
			expect(times[59] - times[0]).toBeGreaterThanOrEqual(1900);
		} finally {
			await fake.close();
		}
	});
});

describe('a batch that cannot run', () => {
	it('ends FAILED with the reason when its channel is disabled after the batch was accepted', async () => {
		await createChannel('hookoff', 'webhook', { url: 'http://127.0.0.1:9/' });
		const { call } = await userCaller('operator');
		const ids = await seedContacts(3, { prefix: '+1808' });
		const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hookoff', scheduleAt: new Date(Date.now() + 1500) });
		await sql()`update channels set enabled = false where id = 'hookoff'`;
		await done(res.id);
		const [b] = await sql()<{ status: string; error: string }[]>`select status, error from batch_operations where id = ${res.id}`;
		expect(b.status).toBe('FAILED');
		expect(b.error).toMatch(/disabled/);
		expect(await itemCounts(res.id)).toEqual({ cancelled: 3 });
	});
});
