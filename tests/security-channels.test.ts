/**
 * Channels as an attack path: a provider URL that reads local files or reaches the
 * machine's own services (SSRF), a write-only secret sent to a new host, and providers'
 * answers shown to viewers.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';
import { post } from '../src/lib/server/channels/http';
import { ChannelError } from '../src/lib/server/channels/types';
import { startFakeProvider } from './fake-provider';
import { userCaller } from './helpers';

const saved = { allow: process.env.CHANNEL_ALLOW_PRIVATE, hosts: process.env.CHANNEL_ALLOWED_HOSTS };
function policy(allowPrivate: boolean, hosts?: string) {
	process.env.CHANNEL_ALLOW_PRIVATE = allowPrivate ? '1' : '0';
	if (hosts === undefined) delete process.env.CHANNEL_ALLOWED_HOSTS;
	else process.env.CHANNEL_ALLOWED_HOSTS = hosts;
	resetEnvCache();
}
afterEach(() => {
	if (saved.allow === undefined) delete process.env.CHANNEL_ALLOW_PRIVATE;
	else process.env.CHANNEL_ALLOW_PRIVATE = saved.allow;
	if (saved.hosts === undefined) delete process.env.CHANNEL_ALLOWED_HOSTS;
	else process.env.CHANNEL_ALLOWED_HOSTS = saved.hosts;
	resetEnvCache();
});

let admin: Awaited<ReturnType<typeof userCaller>>['call'];
beforeAll(async () => {
	admin = (await userCaller('admin')).call;
});

const stored = async (id: string) => (await sql()<{ config: Record<string, unknown> }[]>`select config from channels where id = ${id}`)[0]?.config;
let n = 0;
const nextId = () => `sec-${++n}`;

async function refusal(p: Promise<unknown>) {
	try {
		await p;
	} catch (e) {
		const err = e as { code?: string; message: string; cause?: { field?: string; issues?: { path: string[] }[] } };
		return { code: err.code, message: err.message, field: err.cause?.field ?? err.cause?.issues?.[0]?.path.join('.') };
	}
	return null;
}

describe('provider URLs', () => {
	it('are http(s) only: file:///etc/passwd, javascript: and ftp: are field errors', async () => {
		for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://files.example/x', 'gopher://127.0.0.1:6379/_INFO']) {
			const r = await refusal(admin.channels.create({ id: nextId(), name: 'Hook', kind: 'webhook', config: { url } }));
			expect(r, url).toMatchObject({ code: 'BAD_REQUEST', field: 'config.url' });
		}
		const r = await refusal(admin.channels.create({ id: nextId(), name: 'T', kind: 'twilio', config: { baseUrl: 'file:///etc/passwd', accountSid: 'AC1', authToken: 't', from: '+1' } }));
		expect(r).toMatchObject({ code: 'BAD_REQUEST', field: 'config.baseUrl' });
	});

	it('may not point at loopback, link-local or private addresses unless CHANNEL_ALLOW_PRIVATE is on', async () => {
		policy(false);
		const blocked = [
			'http://127.0.0.1:5432/',
			'http://localhost:3000/api',
			'http://169.254.169.254/latest/meta-data/',
			'http://[::1]:8080/',
			'http://[::ffff:127.0.0.1]/',
			'http://10.0.0.5/hook',
			'http://192.168.1.1/',
			'http://0.0.0.0:3000/'
		];
		for (const url of blocked) {
			const r = await refusal(admin.channels.create({ id: nextId(), name: 'Hook', kind: 'webhook', config: { url } }));
			expect(r, url).toMatchObject({ code: 'BAD_REQUEST', field: 'config.url' });
			expect(r!.message, url).toMatch(/loopback, link-local or private/);
		}
		// An update to such a URL too.
		const id = nextId();
		await admin.channels.create({ id, name: 'Hook', kind: 'webhook', config: { url: 'https://93.184.216.34/hook' } });
		expect(await refusal(admin.channels.update({ id, config: { url: 'http://169.254.169.254/' } }))).toMatchObject({ field: 'config.url' });
		expect((await stored(id))!.url).toBe('https://93.184.216.34/hook');
		console.log(`${blocked.length} private/loopback/link-local provider URLs refused on save`);
	});

	it('follow CHANNEL_ALLOWED_HOSTS when it is set', async () => {
		policy(true, 'api.twilio.com, *.example.com');
		expect(await refusal(admin.channels.create({ id: nextId(), name: 'H', kind: 'webhook', config: { url: 'https://evil.example.org/x' } }))).toMatchObject({
			field: 'config.url'
		});
		expect(await refusal(admin.channels.create({ id: nextId(), name: 'H', kind: 'webhook', config: { url: 'https://example.com.evil.org/x' } }))).toMatchObject({
			field: 'config.url'
		});
		await admin.channels.create({ id: nextId(), name: 'H', kind: 'webhook', config: { url: 'https://hooks.example.com/x' } });
	});

	it('are checked again at every connection, on the address DNS gives then (rebinding)', async () => {
		const fake = await startFakeProvider();
		try {
			const port = new URL(fake.url).port;
			// Saved while allowed (or while the name pointed elsewhere)…
			policy(true);
			const ok = await post(`http://localhost:${port}/hook`, { body: '{}', headers: {}, timeoutMs: 2000 });
			expect(ok.status).toBe(200);
			// …refused once the name leads to loopback and the policy is on, by name or by address.
			policy(false);
			for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`]) {
				const err = await post(url, { body: '{}', headers: {}, timeoutMs: 2000 }).catch((e) => e);
				expect(err, url).toBeInstanceOf(ChannelError);
				expect(err.code, url).toBe('blocked_address');
				// The channel's batches pause (nothing can go out) rather than failing each recipient.
				expect(err.errorClass, url).toBe('auth');
			}
			expect(fake.requests.length).toBe(1);
		} finally {
			await fake.close();
		}
	});
});

describe('channel secrets', () => {
	it('a new Twilio baseUrl needs the auth token again; the old one is never kept with the new host', async () => {
		const id = nextId();
		const base = { accountSid: 'AC123', from: '+15550001111' };
		await admin.channels.create({ id, name: 'Tw', kind: 'twilio', config: { ...base, authToken: 'old-token', baseUrl: 'https://api.twilio.com' } });
		expect(await refusal(admin.channels.update({ id, config: { baseUrl: 'https://93.184.216.34' } }))).toMatchObject({ code: 'BAD_REQUEST', field: 'config.authToken' });
		// Removing the token while moving the host leaves a channel without one (refused: Twilio needs it).
		expect(await refusal(admin.channels.update({ id, config: { baseUrl: 'https://93.184.216.34', authToken: null } }))).toMatchObject({ field: 'config.authToken' });
		// Dropping the baseUrl (back to the default host) is a host change too.
		expect(await refusal(admin.channels.update({ id, config: { baseUrl: null } }))).toMatchObject({ field: 'config.authToken' });
		expect((await stored(id))!).toMatchObject({ baseUrl: 'https://api.twilio.com', authToken: 'old-token' });
		await admin.channels.update({ id, config: { baseUrl: 'https://93.184.216.34', authToken: 'new-token' } });
		expect((await stored(id))!).toMatchObject({ baseUrl: 'https://93.184.216.34', authToken: 'new-token' });
		expect(JSON.stringify(await stored(id))).not.toContain('old-token');
	});

	it('a kind change keeps none of the old kind’s secrets', async () => {
		const id = nextId();
		await admin.channels.create({ id, name: 'W', kind: 'webhook', config: { url: 'https://93.184.216.34/a', secret: 'webhook-secret' } });
		await admin.channels.update({ id, kind: 'whatsapp', config: { phoneNumberId: '123', accessToken: 'wa-token', baseUrl: 'https://93.184.216.35' } });
		expect(JSON.stringify(await stored(id))).not.toContain('webhook-secret');
	});
});

describe("providers' answers", () => {
	it('are shown to operators and admins, not to viewers', async () => {
		const operator = (await userCaller('operator')).call;
		const viewer = (await userCaller('viewer')).call;
		const [c] = await sql()<{ id: number }[]>`insert into contacts (phone_e164, name) values ('+8613800000301', 'Ann') returning id::int as id`;
		const batch = await operator.batch.send({ contactIds: [c.id], content: 'hi', scheduleAt: new Date(Date.now() + 3_600_000) });
		const answer = 'Provider says: account AC123 suspended, contact billing@provider.example';
		await sql()`update batch_items set status = 'failed', error_code = 'http_403', error_message = ${answer} where batch_id = ${batch.id}`;

		const asOperator = await operator.batch.items({ batchId: batch.id });
		expect(asOperator.items[0].errorMessage).toBe(answer);
		expect((await operator.batch.get({ batchId: batch.id })).items.topErrors[0].sample).toBe(answer);

		const asViewer = await viewer.batch.items({ batchId: batch.id });
		expect(asViewer.items[0]).toMatchObject({ errorCode: 'http_403', errorMessage: null });
		const summary = (await viewer.batch.get({ batchId: batch.id })).items.topErrors[0];
		expect(summary).toMatchObject({ code: 'http_403', sample: null });
	});
});
