import { describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { userCaller } from './helpers';
import { createChannel, ended, itemCounts, seedContacts, useSendWorker } from './send-helpers';
import { startFakeProvider, type RecordedRequest } from './fake-provider';
import { sql } from '../src/lib/server/db/client';

useSendWorker();
const done = (id: string) => ended(id);

async function stored(id: string) {
	const [row] = await sql()<{ name: string; config: Record<string, unknown>; rate_per_second: number; enabled: boolean; kind: string }[]>`
		select name, kind, config, rate_per_second, enabled from channels where id = ${id}`;
	return row;
}

describe('channels.update is a patch', () => {
	it('a rename keeps the cap and a disabled channel disabled; {id, enabled} alone works for a webhook', async () => {
		const { call } = await userCaller('admin');
		await call.channels.create({ id: 'p-hook', name: 'Hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a' }, ratePerSecond: 100_000, enabled: false });
		await call.channels.update({ id: 'p-hook', name: 'Renamed' });
		expect(await stored('p-hook')).toMatchObject({ name: 'Renamed', rate_per_second: 100_000, enabled: false, config: { url: 'http://127.0.0.1:9/a' } });
		await call.channels.update({ id: 'p-hook', enabled: true });
		await call.channels.update({ id: 'p-hook', enabled: false });
		expect(await stored('p-hook')).toMatchObject({ name: 'Renamed', rate_per_second: 100_000, enabled: false, config: { url: 'http://127.0.0.1:9/a' } });
	});

	it('config merges key by key: a given key replaces, null removes, a secret left out is kept', async () => {
		const { call } = await userCaller('admin');
		await call.channels.create({ id: 'p-sec', name: 'S', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a', secret: 'keep-me', timeoutMs: 900 } });
		await call.channels.update({ id: 'p-sec', config: { timeoutMs: 1500 } });
		expect((await stored('p-sec')).config).toEqual({ url: 'http://127.0.0.1:9/a', secret: 'keep-me', timeoutMs: 1500 });
		await call.channels.update({ id: 'p-sec', config: { timeoutMs: null } });
		expect((await stored('p-sec')).config).toEqual({ url: 'http://127.0.0.1:9/a', secret: 'keep-me' });
		// A required key cannot be removed.
		await expect(call.channels.update({ id: 'p-sec', config: { url: null, secret: null } })).rejects.toMatchObject({
			code: 'BAD_REQUEST',
			cause: { field: 'config.url' }
		});
	});

	it('a changed url needs the secret again, so the stored one never goes to the new host', async () => {
		const { call } = await userCaller('admin');
		await call.channels.create({ id: 'p-host', name: 'H', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a', secret: 'old' } });
		await expect(call.channels.update({ id: 'p-host', config: { url: 'http://evil.example/x' } })).rejects.toMatchObject({
			code: 'BAD_REQUEST',
			cause: { field: 'config.secret' }
		});
		expect((await stored('p-host')).config).toEqual({ url: 'http://127.0.0.1:9/a', secret: 'old' });
		// The same url again is no change.
		await call.channels.update({ id: 'p-host', config: { url: 'http://127.0.0.1:9/a' } });
		await call.channels.update({ id: 'p-host', config: { url: 'http://127.0.0.1:9/b', secret: 'new' } });
		expect((await stored('p-host')).config).toEqual({ url: 'http://127.0.0.1:9/b', secret: 'new' });
		await call.channels.update({ id: 'p-host', config: { url: 'http://127.0.0.1:9/c', secret: null } });
		expect((await stored('p-host')).config).toEqual({ url: 'http://127.0.0.1:9/c' });

		await call.channels.create({
			id: 'p-tw',
			name: 'T',
			kind: 'twilio',
			config: { accountSid: 'AC1', authToken: 'tok', from: '+15550001111' }
		});
		// Removing baseUrl moves the channel to api.twilio.com: a host change too.
		await call.channels.update({ id: 'p-tw', config: { baseUrl: 'http://127.0.0.1:9' , authToken: 'tok2' } });
		await expect(call.channels.update({ id: 'p-tw', config: { baseUrl: null } })).rejects.toMatchObject({
			code: 'BAD_REQUEST',
			cause: { field: 'config.authToken' }
		});
	});

	it('another kind starts from the given config; provider rules name the field', async () => {
		const { call } = await userCaller('admin');
		await call.channels.create({ id: 'p-kind', name: 'K', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a', secret: 's' } });
		await expect(call.channels.update({ id: 'p-kind', kind: 'twilio', config: { accountSid: 'AC1', authToken: 't' } })).rejects.toMatchObject({
			code: 'BAD_REQUEST',
			cause: { field: 'config.from' }
		});
		const sid = `MG${'a'.repeat(32)}`;
		await call.channels.update({ id: 'p-kind', kind: 'twilio', config: { accountSid: 'AC1', authToken: 't', messagingServiceSid: sid } });
		expect(await stored('p-kind')).toMatchObject({ kind: 'twilio', config: { accountSid: 'AC1', authToken: 't', messagingServiceSid: sid } });
		expect((await stored('p-kind')).config).not.toHaveProperty('url');
		await expect(call.channels.update({ id: 'p-kind', config: { messagingServiceSid: 'nope' } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });

		await expect(
			call.channels.create({ id: 'p-wa', name: 'W', kind: 'whatsapp', config: { phoneNumberId: '1', accessToken: 'a', templateName: 'hello' } })
		).rejects.toMatchObject({ code: 'BAD_REQUEST', cause: { field: 'config.templateLanguage' } });
		await expect(
			call.channels.create({ id: 'p-wh', name: 'W', kind: 'webhook', config: { url: 'http://127.0.0.1:9/a', secret: 'whsec_tooshort' } })
		).rejects.toMatchObject({ code: 'BAD_REQUEST' });
	});
});

/**
 * Verifies a request the way the Standard Webhooks spec tells a receiver to (and its
 * libraries do), written here from the spec rather than from the sender's code.
 */
function verifyStandardWebhook(req: RecordedRequest, secret: string, toleranceSec = 300) {
	const id = req.headers['webhook-id'] as string;
	const ts = req.headers['webhook-timestamp'] as string;
	const sigs = req.headers['webhook-signature'] as string;
	if (!id || !ts || !sigs) return false;
	if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > toleranceSec) return false;
	const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
	const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${ts}.${req.body}`).digest('base64'));
	return sigs.split(' ').some((s) => {
		const [version, sig] = s.split(',');
		const got = Buffer.from(sig ?? '');
		return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
	});
}

describe('webhook channel: Standard Webhooks signature', () => {
	for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'plain old secret']) {
		it(`signs every request so a receiver verifies it (${secret.startsWith('whsec_') ? 'whsec_ secret' : 'plain secret'}), and keeps the deprecated header`, async () => {
			const fake = await startFakeProvider();
			const chan = secret.startsWith('whsec_') ? 'sw-whsec' : 'sw-plain';
			try {
				await createChannel(chan, 'webhook', { url: `${fake.url}/hook`, secret });
				const { call } = await userCaller('operator');
				const ids = await seedContacts(3, { prefix: secret.startsWith('whsec_') ? '+1821' : '+1822' });
				const res = await call.batch.send({ contactIds: ids, content: 'Hi {{name}}', channelId: chan });
				await done(res.id);
				expect(await itemCounts(res.id)).toEqual({ sent: 3 });
				expect(fake.requests.length).toBe(3);
				for (const r of fake.requests) {
					expect(r.headers['webhook-id']).toBe(r.idempotencyKey);
					expect(r.headers['webhook-id']).not.toContain('.');
					expect(r.headers['webhook-timestamp']).toMatch(/^\d+$/);
					expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
					expect(verifyStandardWebhook(r, secret)).toBe(true);
					expect(r.headers['x-batchdesk-signature']).toBe(`sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`);
				}
				// Forged, tampered or replayed: the same check refuses them.
				const r = fake.requests[0];
				expect(verifyStandardWebhook({ ...r, body: r.body.replace('Hi', 'Ho') }, secret)).toBe(false);
				expect(verifyStandardWebhook(r, 'whsec_' + Buffer.alloc(24, 7).toString('base64'))).toBe(false);
				const old = String(Number(r.headers['webhook-timestamp']) - 600);
				expect(verifyStandardWebhook({ ...r, headers: { ...r.headers, 'webhook-timestamp': old } }, secret)).toBe(false);
			} finally {
				await fake.close();
			}
		});
	}
});

describe('WhatsApp template messages', () => {
	it("sends the Cloud API's template shape, body parameters rendered from each contact", async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('wa-tpl', 'whatsapp', {
				baseUrl: fake.url,
				phoneNumberId: '1055',
				accessToken: 'EAAB',
				templateName: 'order_update',
				templateLanguage: 'en_US',
				templateParams: ['{{name}}', '{{city}}', '{{nickname|friend}}', '{{phone}}']
			});
			const { call } = await userCaller('operator');
			const ids = await seedContacts(2, { prefix: '+1823' });
			await sql()`update contacts set attributes = ${JSON.stringify({ city: 'Rue\n\tdu     Port' })}::jsonb where id = ${ids[1]}`;
			const res = await call.batch.send({ contactIds: ids, content: 'ignored for a template channel', channelId: 'wa-tpl' });
			await done(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 2 });
			const bodies = fake.requests.map((r) => JSON.parse(r.body)).sort((a, b) => a.to.localeCompare(b.to));
			expect(fake.requests[0].path).toBe('/v21.0/1055/messages');
			expect(bodies[0]).toEqual({
				messaging_product: 'whatsapp',
				recipient_type: 'individual',
				to: '18230000001',
				type: 'template',
				template: {
					name: 'order_update',
					language: { code: 'en_US' },
					components: [
						{
							type: 'body',
							parameters: [
								{ type: 'text', text: 'Name 1' },
								{ type: 'text', text: 'City 1' },
								{ type: 'text', text: 'friend' },
								{ type: 'text', text: '+18230000001' }
							]
						}
					]
				}
			});
			// Newlines, tabs and long runs of spaces, which Meta refuses in a parameter, become one space.
			expect(bodies[1].template.components[0].parameters.slice(0, 2)).toEqual([
				{ type: 'text', text: 'Name 2' },
				{ type: 'text', text: 'Rue du Port' }
			]);
		} finally {
			await fake.close();
		}
	});

	it('a recipient missing a parameter fails for good without a request; the others are sent', async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('wa-tpl2', 'whatsapp', {
				baseUrl: fake.url,
				phoneNumberId: '1055',
				accessToken: 'EAAB',
				templateName: 'tier_notice',
				templateLanguage: 'en',
				templateParams: ['{{tier}}']
			});
			const { call } = await userCaller('operator');
			const ids = await seedContacts(2, { prefix: '+1824' });
			await sql()`update contacts set attributes = attributes || '{"tier":"gold"}'::jsonb where id = ${ids[0]}`;
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'wa-tpl2' });
			await done(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 1, failed: 1 });
			expect(fake.requests.length).toBe(1);
			expect(JSON.parse(fake.requests[0].body).template.components[0].parameters).toEqual([{ type: 'text', text: 'gold' }]);
			const [failed] = await sql()<{ error_class: string; error_code: string; error_message: string }[]>`
				select error_class, error_code, error_message from batch_items where batch_id = ${res.id} and status = 'failed'`;
			expect(failed).toMatchObject({ error_class: 'permanent', error_code: 'template_param_missing' });
			expect(failed.error_message).toContain('tier');
		} finally {
			await fake.close();
		}
	});
});

describe('Twilio Messaging Service', () => {
	it('sends MessagingServiceSid instead of From when configured', async () => {
		const fake = await startFakeProvider();
		try {
			const sid = `MG${'0123456789abcdef'.repeat(2)}`;
			// `from` stays stored (a patch adding the service keeps it); the service wins.
			await createChannel('tw-ms', 'twilio', { baseUrl: fake.url, accountSid: 'AC9', authToken: 'tok', from: '+15550001111', messagingServiceSid: sid });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1825' });
			const res = await call.batch.send({ contactIds: ids, content: 'Hello {{name}}', channelId: 'tw-ms' });
			await done(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 1 });
			const params = Object.fromEntries(new URLSearchParams(fake.requests[0].body));
			expect(params).toMatchObject({ To: '+18250000001', MessagingServiceSid: sid, Body: 'Hello Name 1' });
			expect(params).not.toHaveProperty('From');
		} finally {
			await fake.close();
		}
	});
});
