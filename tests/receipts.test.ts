/**
 * Delivery receipts and inbound STOP through the real HTTP path: the built app
 * (`node server.js`, adapter-node, hooks.server.ts) on a local port, called as Twilio
 * and Meta call it. ORIGIN is a public name the app is not reached by, so a signature
 * only verifies over ORIGIN, never over the Host the request came to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { startApp, type RunningApp } from './e2e/app';
import { userCaller, waitFor } from './helpers';
import { createChannel, seedContacts } from './send-helpers';
import { startFakeProvider } from './fake-provider';
import { sql, transaction } from '../src/lib/server/db/client';
import { recordOutcomes } from '../src/lib/server/send/outcomes';
import { claiming } from '../src/lib/server/send/claims';
import { WORKER_PROCESS_ID } from '../src/lib/server/jobs/recovery';
import { PARKED_TTL_MS, sweepParkedReceipts } from '../src/lib/server/receipts/parked';
import { resetEnvCache } from '../src/lib/server/env';
import { startWorker } from '../worker/index';

const ORIGIN = 'https://batchdesk.example.test';
const TWILIO_TOKEN = 'twilio-auth-token-1';
const APP_SECRET = 'meta-app-secret-1';
const VERIFY_TOKEN = 'verify-me-please';

let app: RunningApp;
beforeAll(async () => {
	app = await startApp({ DATABASE_URL: process.env.DATABASE_URL!, ORIGIN });
	await createChannel('tw1', 'twilio', { baseUrl: 'http://127.0.0.1:1', accountSid: 'AC1', authToken: TWILIO_TOKEN, from: '+15005550006' });
	await createChannel('wa1', 'whatsapp', { phoneNumberId: '111', accessToken: 'x', appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN });
}, 300_000);
afterAll(async () => {
	await app?.stop();
});

/** Twilio's signature, computed independently of the app's code (docs: URL + sorted name+value pairs, HMAC-SHA1, base64). */
function twilioSign(url: string, params: Record<string, string>, token = TWILIO_TOKEN) {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, k) => acc + k + params[k], url);
	return createHmac('sha1', token).update(data).digest('base64');
}

async function postTwilio(channelId: string, params: Record<string, string>, opts: { signature?: string | null; signedUrl?: string } = {}) {
	const path = `/api/receipts/${channelId}`;
	const signature = opts.signature === undefined ? twilioSign(opts.signedUrl ?? `${ORIGIN}${path}`, params) : opts.signature;
	const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
	if (signature !== null) headers['x-twilio-signature'] = signature;
	// No Origin header: a server-to-server POST, as Twilio sends it.
	const res = await fetch(`${app.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
	return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

function metaBody(statuses: { id: string; status: string; errors?: { code: number; title: string }[] }[]) {
	return JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: 'WABA1',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550001111', phone_number_id: '111' },
							statuses: statuses.map((s) => ({ ...s, timestamp: '1750857384', recipient_id: '15550002222' }))
						}
					}
				]
			}
		]
	});
}

async function postMeta(channelId: string, body: string, signature: string | null = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`) {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (signature !== null) headers['x-hub-signature-256'] = signature;
	const res = await fetch(`${app.url}/api/receipts/${channelId}`, { method: 'POST', headers, body });
	return { status: res.status, text: await res.text() };
}

/** A finished SEND batch on `channelId` whose items were accepted by the provider under `messageIds`. */
async function sentBatch(channelId: string, messageIds: string[]) {
	const [b] = await sql()<{ id: string }[]>`
		insert into batch_operations (type, status, total_count, processed_count, success_count, channel_id, completed_at)
		values ('SEND', 'COMPLETED', ${messageIds.length}, ${messageIds.length}, ${messageIds.length}, ${channelId}, now())
		returning id`;
	await sql()`
		insert into batch_items (batch_id, phone, status, attempts, provider_message_id)
		select ${b.id}::uuid, '+1555' || lpad(g::text, 7, '0'), 'sent', 1, m
		from unnest(${messageIds}::text[]) with ordinality as t(m, g)`;
	return b.id;
}

/** What the batch page shows: batch.status as a user sees it. */
let viewer: Awaited<ReturnType<typeof userCaller>> | undefined;
async function counts(batchId: string) {
	viewer ??= await userCaller('viewer');
	const s = await viewer.call.batch.status({ batchId });
	return { delivered: s.deliveredCount, read: s.readCount, undelivered: s.undeliveredCount };
}

async function delivery(messageId: string) {
	const [r] = await sql()<{ delivery: string | null; code: string | null }[]>`
		select delivery, delivery_code as code from batch_items where provider_message_id = ${messageId}`;
	return r;
}

const sid = () => `SM${randomBytes(16).toString('hex')}`;

describe('Twilio status callbacks', () => {
	it('a Twilio send carries StatusCallback = ORIGIN/api/receipts/<channel>, and its signed receipt shows as delivered', async () => {
		process.env.ORIGIN = ORIGIN;
		resetEnvCache();
		const fake = await startFakeProvider();
		const worker = await startWorker({ concurrency: 2 });
		try {
			await createChannel('tw2', 'twilio', { baseUrl: fake.url, accountSid: 'AC2', authToken: TWILIO_TOKEN, from: '+15005550006' });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1806' });
			const batch = await call.batch.send({ contactIds: ids, content: 'Hello', channelId: 'tw2' });
			await waitFor(async () => (await call.batch.status({ batchId: batch.id })).status === 'COMPLETED', 20_000);
			expect(fake.requests).toHaveLength(1);
			const sent = new URLSearchParams(fake.requests[0].body);
			expect(sent.get('StatusCallback')).toBe(`${ORIGIN}/api/receipts/tw2`);

			const [{ provider_message_id: messageSid }] = await sql()<{ provider_message_id: string }[]>`
				select provider_message_id from batch_items where batch_id = ${batch.id}`;
			const res = await postTwilio('tw2', { MessageSid: messageSid, MessageStatus: 'delivered', AccountSid: 'AC2', To: '+18060000001' });
			expect(res.status).toBe(200);
			expect(await counts(batch.id)).toEqual({ delivered: 1, read: 0, undelivered: 0 });
			expect((await call.batch.get({ batchId: batch.id })).deliveredCount).toBe(1);
		} finally {
			await worker.stop();
			await fake.close();
			delete process.env.ORIGIN;
			resetEnvCache();
		}
	});

	it('refuses a forged, a missing and a Host-signed signature with 403 and changes nothing', async () => {
		const m = sid();
		const batchId = await sentBatch('tw1', [m]);
		const params = { MessageSid: m, MessageStatus: 'delivered' };
		const forged = await postTwilio('tw1', params, { signature: twilioSign(`${ORIGIN}/api/receipts/tw1`, params, 'not-the-token') });
		const missing = await postTwilio('tw1', params, { signature: null });
		// Signed over the address the request reached (the Host header), not the public ORIGIN.
		const viaHost = await postTwilio('tw1', params, { signedUrl: `${app.url}/api/receipts/tw1` });
		// A valid signature for other parameters: the body was changed in transit.
		const tampered = await postTwilio('tw1', { ...params, MessageStatus: 'read' }, { signature: twilioSign(`${ORIGIN}/api/receipts/tw1`, params) });
		expect([forged.status, missing.status, viaHost.status, tampered.status]).toEqual([403, 403, 403, 403]);
		expect(await counts(batchId)).toEqual({ delivered: 0, read: 0, undelivered: 0 });
		expect((await delivery(m)).delivery).toBeNull();
	});

	it('counts a repeated receipt once', async () => {
		const [a, b] = [sid(), sid()];
		const batchId = await sentBatch('tw1', [a, b]);
		for (let i = 0; i < 3; i++) expect((await postTwilio('tw1', { MessageSid: a, MessageStatus: 'delivered' })).status).toBe(200);
		expect(await counts(batchId)).toEqual({ delivered: 1, read: 0, undelivered: 0 });
		// Several at once: still one.
		await Promise.all(Array.from({ length: 8 }, () => postTwilio('tw1', { MessageSid: b, MessageStatus: 'delivered' })));
		expect(await counts(batchId)).toEqual({ delivered: 2, read: 0, undelivered: 0 });
	});

	it('read before delivered ends read, counted once as delivered and once as read', async () => {
		const m = sid();
		const batchId = await sentBatch('tw1', [m]);
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'read' })).status).toBe(200);
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'delivered' })).status).toBe(200);
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'sent' })).status).toBe(200);
		expect(await counts(batchId)).toEqual({ delivered: 1, read: 1, undelivered: 0 });
		expect((await delivery(m)).delivery).toBe('read');
	});

	it('undelivered keeps its error code; a later delivered wins, a failure after delivery changes nothing', async () => {
		const [a, b] = [sid(), sid()];
		const batchId = await sentBatch('tw1', [a, b]);
		await postTwilio('tw1', { MessageSid: a, MessageStatus: 'undelivered', ErrorCode: '30003' });
		await postTwilio('tw1', { MessageSid: b, MessageStatus: 'failed', ErrorCode: '30008' });
		expect(await counts(batchId)).toEqual({ delivered: 0, read: 0, undelivered: 2 });
		expect(await delivery(a)).toEqual({ delivery: 'undelivered', code: '30003' });

		await postTwilio('tw1', { MessageSid: a, MessageStatus: 'delivered' });
		await postTwilio('tw1', { MessageSid: a, MessageStatus: 'failed', ErrorCode: '30008' });
		expect(await counts(batchId)).toEqual({ delivered: 1, read: 0, undelivered: 1 });
		expect(await delivery(a)).toEqual({ delivery: 'delivered', code: null });
	});

	it('answers 200 to a receipt for a message it never sent, changing nothing; a receipt of another channel does not apply', async () => {
		const m = sid();
		const batchId = await sentBatch('wa1', [m]);
		const unknown = await postTwilio('tw1', { MessageSid: sid(), MessageStatus: 'delivered' });
		expect(unknown.status).toBe(200);
		// tw1's signature does not speak for wa1's messages.
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'delivered' })).status).toBe(200);
		expect(await counts(batchId)).toEqual({ delivered: 0, read: 0, undelivered: 0 });
	});

	it('keeps a receipt that arrives before the send outcome is recorded, across a restart of the app, and applies it once the item has its message id', async () => {
		const m = sid();
		// A send in flight (claimed by this process, which records its outcome below): the
		// provider has accepted it, the slice has not recorded its answer yet.
		const [b] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, total_count, channel_id, started_at)
			values ('SEND', 'PROCESSING', 1, 'tw1', now()) returning id`;
		// Claimed as a lane claims (send/claims.ts): held by this process, so its heartbeat
		// never takes it for a claim whose reply was lost, however long the restart below takes.
		const [item] = await claiming(b.id, () => sql()<{ id: number }[]>`
			insert into batch_items (batch_id, phone, status, attempts, claimed_by, claimed_at)
			values (${b.id}, '+15550009999', 'sending', 1, ${WORKER_PROCESS_ID}, now()) returning id::int as id`);
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'delivered' })).status).toBe(200);
		expect(await counts(b.id)).toEqual({ delivered: 0, read: 0, undelivered: 0 });
		// The web process that took the receipt goes away: the receipt must not live only in its memory.
		await app.stop();
		app = await startApp({ DATABASE_URL: process.env.DATABASE_URL!, ORIGIN });
		const worker = await startWorker({ concurrency: 2 });
		try {
			// The slice records the provider's answer, as it does after the HTTP call.
			await transaction((tx) => recordOutcomes(tx, b.id, [{ id: item.id, status: 'sent', providerMessageId: m }], false));
			await waitFor(async () => (await counts(b.id)).delivered === 1, 20_000, 200);
			viewer ??= await userCaller('viewer');
			const page = await viewer.call.batch.items({ batchId: b.id, limit: 10, offset: 0 });
			expect(page.items).toMatchObject([{ id: item.id, status: 'sent', providerMessageId: m, delivery: 'delivered', deliveryCode: null }]);
		} finally {
			await worker.stop();
		}
	});

	it('drops a parked receipt whose message never shows up once it expires', async () => {
		const m = sid();
		expect((await postTwilio('tw1', { MessageSid: m, MessageStatus: 'delivered' })).status).toBe(200);
		const parked = async () => (await sql()<{ n: number }[]>`select count(*)::int as n from parked_receipts where message_id = ${m}`)[0].n;
		expect(await parked()).toBe(1);
		await sweepParkedReceipts();
		expect(await parked()).toBe(1);
		await sql()`update parked_receipts set received_at = now() - make_interval(secs => ${PARKED_TTL_MS / 1000 + 1}::float8) where message_id = ${m}`;
		await sweepParkedReceipts();
		expect(await parked()).toBe(0);
	});

	it('shows an undelivered receipt and its code on the item in batch.items', async () => {
		const m = sid();
		const batchId = await sentBatch('tw1', [m]);
		await postTwilio('tw1', { MessageSid: m, MessageStatus: 'undelivered', ErrorCode: '30005' });
		viewer ??= await userCaller('viewer');
		const page = await viewer.call.batch.items({ batchId, limit: 10, offset: 0 });
		expect(page.items).toMatchObject([{ providerMessageId: m, delivery: 'undelivered', deliveryCode: '30005' }]);
	});

	it('answers 404 for a channel that does not exist or cannot have receipts', async () => {
		expect((await postTwilio('nope', { MessageSid: sid(), MessageStatus: 'delivered' })).status).toBe(404);
		expect((await postTwilio('sandbox', { MessageSid: sid(), MessageStatus: 'delivered' })).status).toBe(404);
	});
});

describe('Twilio inbound STOP', () => {
	it('opts the sender out on an opt-out keyword, with empty TwiML; other messages and forged ones change nothing', async () => {
		const [stopper, chatty, forged] = await seedContacts(3, { prefix: '+1807' });
		const phone = async (id: number) => (await sql()<{ phone: string; out: boolean }[]>`select phone_e164 as phone, opted_out_at is not null as out from contacts where id = ${id}`)[0];
		const inbound = async (id: number, Body: string, signature?: string | null) =>
			postTwilio('tw1', { MessageSid: sid(), AccountSid: 'AC1', From: (await phone(id)).phone, To: '+15005550006', Body, NumMedia: '0', SmsStatus: 'received' }, { signature });

		const stop = await inbound(stopper, '  stop ');
		expect(stop.status).toBe(200);
		expect(stop.type).toMatch(/^text\/xml/);
		expect(stop.text).toMatch(/<Response>\s*<\/Response>/);
		expect((await phone(stopper)).out).toBe(true);

		expect((await inbound(chatty, 'Stop sending me the promo? No, keep going')).status).toBe(200);
		expect((await phone(chatty)).out).toBe(false);

		expect((await inbound(forged, 'STOP', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=')).status).toBe(403);
		expect((await phone(forged)).out).toBe(false);

		// An opted-out contact is skipped by the next send.
		const { call } = await userCaller('operator');
		const batch = await call.batch.send({ contactIds: [stopper, chatty], content: 'x' });
		expect((await call.batch.status({ batchId: batch.id })).skippedCount).toBe(1);
	});

	it('opts the sender out on every STOP synonym and back in on START, YES and UNSTOP; the next send reaches them again', async () => {
		const [who] = await seedContacts(1, { prefix: '+1808' });
		const [{ phone }] = await sql()<{ phone: string }[]>`select phone_e164 as phone from contacts where id = ${who}`;
		const out = async () => (await sql()<{ out: boolean }[]>`select opted_out_at is not null as out from contacts where id = ${who}`)[0].out;
		const inbound = (Body: string) => postTwilio('tw1', { MessageSid: sid(), AccountSid: 'AC1', From: phone, To: '+15005550006', Body, NumMedia: '0', SmsStatus: 'received' });
		for (const [stop, start] of [['STOP', 'START'], ['stopall', 'yes'], ['Unsubscribe', 'UNSTOP'], ['CANCEL', 'Start'], ['end', 'YES'], ['QUIT', 'unstop']]) {
			expect((await inbound(stop)).status).toBe(200);
			expect(await out(), stop).toBe(true);
			expect((await inbound(start)).status).toBe(200);
			expect(await out(), start).toBe(false);
		}
		// A forged START changes nothing.
		await inbound('STOP');
		const forged = await postTwilio('tw1', { MessageSid: sid(), From: phone, Body: 'START' }, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
		expect(forged.status).toBe(403);
		expect(await out()).toBe(true);
		await inbound('START');
		const { call } = await userCaller('operator');
		const batch = await call.batch.send({ contactIds: [who], content: 'x' });
		expect((await call.batch.status({ batchId: batch.id })).skippedCount).toBe(0);
	});
});

describe('WhatsApp webhooks', () => {
	const handshake = (q: string) => fetch(`${app.url}/api/receipts/wa1?${q}`);

	it('answers the verification handshake with the challenge only for the right verify token', async () => {
		const ok = await handshake('hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444');
		expect(ok.status).toBe(200);
		expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
		expect(await ok.text()).toBe('1158201444');
		for (const q of [
			'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
			'hub.mode=unsubscribe&hub.verify_token=verify-me-please&hub.challenge=1',
			'hub.mode=subscribe&hub.challenge=1'
		]) {
			const res = await handshake(q);
			expect(res.status, q).toBe(403);
			expect(await res.text()).not.toContain('1');
		}
	});

	it('applies signed statuses (delivered, read, failed with its code) and refuses a wrong or missing X-Hub-Signature-256', async () => {
		const [a, b, c] = [`wamid.${randomBytes(8).toString('hex')}`, `wamid.${randomBytes(8).toString('hex')}`, `wamid.${randomBytes(8).toString('hex')}`];
		const batchId = await sentBatch('wa1', [a, b, c]);
		const body = metaBody([
			{ id: a, status: 'sent' },
			{ id: a, status: 'delivered' },
			{ id: b, status: 'read' },
			{ id: c, status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] }
		]);
		const wrong = await postMeta('wa1', body, `sha256=${createHmac('sha256', 'other-secret').update(body).digest('hex')}`);
		const missing = await postMeta('wa1', body, null);
		expect([wrong.status, missing.status]).toEqual([403, 403]);
		expect(await counts(batchId)).toEqual({ delivered: 0, read: 0, undelivered: 0 });

		expect((await postMeta('wa1', body)).status).toBe(200);
		expect(await counts(batchId)).toEqual({ delivered: 2, read: 1, undelivered: 1 });
		expect(await delivery(c)).toEqual({ delivery: 'failed', code: '131026' });
		// Meta retries until it gets a 200: the same body again changes nothing.
		expect((await postMeta('wa1', body)).status).toBe(200);
		expect(await counts(batchId)).toEqual({ delivered: 2, read: 1, undelivered: 1 });
	});

	it('never sends verifyToken or appSecret back to the browser', async () => {
		const { call } = await userCaller('admin');
		const wa = (await call.channels.list()).find((ch: { id: string }) => ch.id === 'wa1')!;
		expect(JSON.stringify(wa)).not.toContain(APP_SECRET);
		expect(JSON.stringify(wa)).not.toContain(VERIFY_TOKEN);
		expect(wa.secretsSet).toEqual(expect.arrayContaining(['appSecret', 'verifyToken']));
	});
});

describe('form-origin check', () => {
	it('still refuses a cross-site form POST anywhere but the receipts path', async () => {
		const res = await fetch(`${app.url}/api/imports`, {
			method: 'POST',
			headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
			body: 'phone\n+15550001111\n'
		});
		expect(res.status).toBe(403);
		expect(await res.text()).toMatch(/Cross-site POST form submissions are forbidden/);
	});
});
