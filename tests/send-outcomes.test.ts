import { describe, expect, it } from 'vitest';
import { sleep, userCaller, waitFor } from './helpers';
import { batchRow, createChannel, ended, itemCounts, seedContacts, useSendWorker } from './send-helpers';
import { graphError, recipientOf, startFakeProvider, twilioError, type RecordedRequest } from './fake-provider';
import { sql } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';

/**
 * Issue 10, items 1, 4 and 5, as an operator sees them: what a recipient receives
 * (requests at the fake provider, by recipient), what the batch says (status, counts,
 * error) and what the ledger keeps (status, code, message), for each class of provider
 * answer; the operator's actions on unknown outcomes; auth errors and the breaker.
 */

// Small slices and a small breaker window, so a breaker test needs 100 recipients, not 1 000.
// Every other test here stays under SEND_BREAKER_MIN_SENDS sends per batch.
useSendWorker({ SEND_HTTP_SLICE: '10', SEND_BREAKER_WINDOW: '20', SEND_BREAKER_MIN_SENDS: '10', SEND_BREAKER_SHARE: '0.2' });
const paused = (id: string, ms = 15_000) => waitFor(async () => (await batchRow(id)).status === 'PAUSED', ms);

/** Requests per recipient. */
function perRecipient(reqs: RecordedRequest[]): Map<string, number> {
	const m = new Map<string, number>();
	for (const r of reqs) m.set(recipientOf(r), (m.get(recipientOf(r)) ?? 0) + 1);
	return m;
}

async function phonesOf(ids: number[]): Promise<string[]> {
	const rows = await sql()<{ phone: string }[]>`select phone_e164 as phone from contacts where id = any(${ids}::bigint[]) order by id`;
	return rows.map((r) => r.phone);
}

type ItemRow = { phone: string; status: string; error_class: string | null; error_code: string | null; error_message: string | null; attempts: number };
async function items(batchId: string): Promise<ItemRow[]> {
	return sql()<ItemRow[]>`
		select phone, status, error_class, error_code, error_message, attempts from batch_items where batch_id = ${batchId} order by id`;
}

const twilio = (url: string, extra: Record<string, unknown> = {}) => ({ baseUrl: url, accountSid: 'AC1', authToken: 'tok', from: '+15550000000', ...extra });
const whatsapp = (url: string, extra: Record<string, unknown> = {}) => ({ baseUrl: url, phoneNumberId: '1055', accessToken: 'EAAB', ...extra });

describe('ambiguous outcomes on channels that cannot dedupe', () => {
	it('Twilio answering after the timeout (500 ms, answer at 3 s): each recipient gets exactly one request and ends unknown', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 3000 }));
		try {
			await createChannel('tw-late', 'twilio', twilio(fake.url, { timeoutMs: 500 }));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(5, { prefix: '+1820' });
			const res = await call.batch.send({ contactIds: ids, content: 'Hi {{name}}', channelId: 'tw-late' });
			await ended(res.id);
			// Long enough for any retry the engine might still make (back-off here is 50 ms).
			await sleep(1500);
			const counts = perRecipient(fake.requests);
			expect([...counts.keys()].sort()).toEqual((await phonesOf(ids)).sort());
			expect([...counts.values()]).toEqual([1, 1, 1, 1, 1]);
			expect(await itemCounts(res.id)).toEqual({ unknown: 5 });
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', processed_count: 5, success_count: 0, failed_count: 0, unknown_count: 5 });
			const status = await call.batch.status({ batchId: res.id });
			expect(status.unknownCount).toBe(5);
		} finally {
			await fake.close();
		}
	});

	it('a 5xx from Twilio or WhatsApp is unknown at once: one request, never retried, not counted as failed', async () => {
		const fake = await startFakeProvider(() => ({ kind: 'status', status: 503, body: '{"message":"Service Unavailable"}' }));
		try {
			await createChannel('tw-5xx', 'twilio', twilio(fake.url));
			await createChannel('wa-5xx', 'whatsapp', whatsapp(fake.url));
			const { call } = await userCaller('operator');
			const a = await seedContacts(3, { prefix: '+1821' });
			const b = await seedContacts(3, { prefix: '+1822' });
			const ra = await call.batch.send({ contactIds: a, content: 'x', channelId: 'tw-5xx' });
			const rb = await call.batch.send({ contactIds: b, content: 'x', channelId: 'wa-5xx' });
			await ended(ra.id);
			await ended(rb.id);
			await sleep(500);
			expect(fake.requests.length).toBe(6);
			expect(new Set(fake.requests.map(recipientOf)).size).toBe(6);
			for (const id of [ra.id, rb.id]) {
				expect(await batchRow(id)).toMatchObject({ status: 'COMPLETED', failed_count: 0, unknown_count: 3, processed_count: 3 });
				for (const it of await items(id)) expect(it).toMatchObject({ status: 'unknown', error_class: 'unknown', error_code: 'http_503', attempts: 1 });
			}
		} finally {
			await fake.close();
		}
	});

	it('the webhook (dedupes by Idempotency-Key) keeps retrying a 5xx under the same key', async () => {
		const fake = await startFakeProvider((n) => (n < 2 ? { kind: 'status', status: 502 } : { kind: 'ok' }));
		try {
			await createChannel('hook-5xx', 'webhook', { url: fake.url });
			const { call } = await userCaller('operator');
			const ids = await seedContacts(1, { prefix: '+1823' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'hook-5xx' });
			await ended(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 1 });
			expect(fake.requests.length).toBe(3);
			expect(new Set(fake.requests.map((r) => r.idempotencyKey)).size).toBe(1);
		} finally {
			await fake.close();
		}
	});
});

describe('certain failures are retried on Twilio and WhatsApp', () => {
	it('429 with Retry-After, Twilio 20429 and WhatsApp 130429: the same recipient again after the wait, then sent', async () => {
		const first = new Set<string>();
		// Each recipient's first request is rate limited, the second accepted.
		const fake = await startFakeProvider((_n, req) => {
			const to = recipientOf(req);
			if (first.has(to)) return { kind: 'ok' };
			first.add(to);
			if (req.path.includes('/Messages.json')) return to.endsWith('1') ? { kind: 'status', status: 429, retryAfter: '1' } : twilioError(20429, 429, 'Too Many Requests');
			return graphError(130429, 429, '(#130429) Rate limit hit');
		});
		try {
			await createChannel('tw-429', 'twilio', twilio(fake.url));
			await createChannel('wa-429', 'whatsapp', whatsapp(fake.url));
			const { call } = await userCaller('operator');
			const a = await seedContacts(2, { prefix: '+1824' });
			const b = await seedContacts(2, { prefix: '+1825' });
			const ra = await call.batch.send({ contactIds: a, content: 'x', channelId: 'tw-429' });
			const rb = await call.batch.send({ contactIds: b, content: 'x', channelId: 'wa-429' });
			await ended(ra.id);
			await ended(rb.id);
			expect(await itemCounts(ra.id)).toEqual({ sent: 2 });
			expect(await itemCounts(rb.id)).toEqual({ sent: 2 });
			expect([...perRecipient(fake.requests).values()]).toEqual([2, 2, 2, 2]);
			// Retry-After: 1 was honoured.
			const [p1] = await phonesOf([a[0]]);
			const times = fake.requests.filter((r) => recipientOf(r) === p1).map((r) => r.at);
			expect(times[1] - times[0]).toBeGreaterThanOrEqual(1000);
		} finally {
			await fake.close();
		}
	});

	it('a refused connection (nothing written) is retried until the provider is back, then sent once', async () => {
		const probe = await startFakeProvider();
		const url = probe.url;
		const port = Number(new URL(url).port);
		await probe.close();
		process.env.SEND_RETRY_BASE_MS = '400';
		resetEnvCache();
		let fake: Awaited<ReturnType<typeof startFakeProvider>> | undefined;
		try {
			await createChannel('tw-refused', 'twilio', twilio(url));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(2, { prefix: '+1826' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'tw-refused' });
			await waitFor(async () => (await items(res.id)).every((i) => i.attempts >= 1 && i.status === 'pending'), 10_000, 20);
			expect((await items(res.id))[0].error_class).toBe('transient');
			fake = await startFakeProvider(undefined, { port });
			await ended(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 2 });
			expect([...perRecipient(fake.requests).values()]).toEqual([1, 1]);
		} finally {
			process.env.SEND_RETRY_BASE_MS = '50';
			resetEnvCache();
			await fake?.close();
		}
	});
});

describe('provider error codes', () => {
	it('Twilio: 21211, 21614, 30007 fail with their code and message; 21610 also opts the contact out, and the next batch skips them', async () => {
		const answers: Record<string, ReturnType<typeof twilioError>> = {
			'1': twilioError(21211, 400, "The 'To' number +18270000001 is not a valid phone number."),
			'2': twilioError(21614, 400, "'To' number is not a valid mobile number"),
			'3': twilioError(21610, 400, 'Attempt to send to unsubscribed recipient'),
			'4': twilioError(30007, 400, 'Message filtered')
		};
		const fake = await startFakeProvider((_n, req) => answers[recipientOf(req).slice(-1)] ?? { kind: 'ok' });
		try {
			await createChannel('tw-codes', 'twilio', twilio(fake.url));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(5, { prefix: '+1827' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'tw-codes' });
			await ended(res.id);
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', success_count: 1, failed_count: 4, unknown_count: 0 });
			expect(fake.requests.length).toBe(5);
			const byPhone = Object.fromEntries((await items(res.id)).map((i) => [i.phone.slice(-1), i]));
			expect(byPhone['1']).toMatchObject({ status: 'failed', error_class: 'permanent', error_code: 'twilio_21211', error_message: "The 'To' number +18270000001 is not a valid phone number." });
			expect(byPhone['2']).toMatchObject({ status: 'failed', error_code: 'twilio_21614' });
			expect(byPhone['3']).toMatchObject({ status: 'failed', error_code: 'twilio_21610', error_message: 'Attempt to send to unsubscribed recipient' });
			expect(byPhone['4']).toMatchObject({ status: 'failed', error_code: 'twilio_30007' });
			expect(byPhone['5']).toMatchObject({ status: 'sent' });

			// The batch page's failures by code, each with the provider's message.
			const detail = await call.batch.get({ batchId: res.id });
			expect(detail.items.topErrors).toEqual(
				expect.arrayContaining([
					{ code: 'twilio_21211', n: 1, sample: "The 'To' number +18270000001 is not a valid phone number." },
					{ code: 'twilio_21610', n: 1, sample: 'Attempt to send to unsubscribed recipient' }
				])
			);

			// Only the unsubscribed contact is opted out now.
			const opted = await sql()<{ id: number }[]>`select id::int as id from contacts where id = any(${ids}::bigint[]) and opted_out_at is not null`;
			expect(opted.map((o) => o.id)).toEqual([ids[2]]);
			const again = await call.batch.send({ contactIds: ids, content: 'y', channelId: 'tw-codes' });
			await ended(again.id);
			expect(await batchRow(again.id)).toMatchObject({ skipped_count: 1 });
			expect(fake.requests.filter((r) => recipientOf(r).endsWith('3')).length).toBe(1);
		} finally {
			await fake.close();
		}
	});

	it('WhatsApp: 131026, 131047, 131051 and a 132000-series template error fail with code and message', async () => {
		const answers: Record<string, ReturnType<typeof graphError>> = {
			'1': graphError(131026, 400, '(#131026) Message Undeliverable.'),
			'2': graphError(131047, 400, '(#131047) Re-engagement message', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.'),
			'3': graphError(131051, 400, '(#131051) Unsupported message type'),
			'4': graphError(132001, 404, "(#132001) Template name does not exist in the translation")
		};
		const fake = await startFakeProvider((_n, req) => answers[recipientOf(req).slice(-1)] ?? { kind: 'ok' });
		try {
			await createChannel('wa-codes', 'whatsapp', whatsapp(fake.url));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(5, { prefix: '+1828' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'wa-codes' });
			await ended(res.id);
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', success_count: 1, failed_count: 4 });
			expect(fake.requests.length).toBe(5);
			const byPhone = Object.fromEntries((await items(res.id)).map((i) => [i.phone.slice(-1), i]));
			expect(byPhone['1']).toMatchObject({ status: 'failed', error_class: 'permanent', error_code: 'whatsapp_131026', error_message: '(#131026) Message Undeliverable.' });
			expect(byPhone['2'].error_code).toBe('whatsapp_131047');
			expect(byPhone['2'].error_message).toMatch(/^\(#131047\) Re-engagement message: Message failed to send because more than 24 hours/);
			expect(byPhone['3']).toMatchObject({ status: 'failed', error_code: 'whatsapp_131051' });
			expect(byPhone['4']).toMatchObject({ status: 'failed', error_code: 'whatsapp_132001' });
		} finally {
			await fake.close();
		}
	});

	it('WhatsApp 131056 (pair rate limit): that recipient is tried again later, the others go on meanwhile', async () => {
		let limited: string | undefined;
		const fake = await startFakeProvider((n, req) => {
			if (n === 0) {
				limited = recipientOf(req);
				return graphError(131056, 400, '(#131056) (Business Account, Consumer Account) pair rate limit hit');
			}
			return { kind: 'ok' };
		});
		try {
			await createChannel('wa-pair', 'whatsapp', whatsapp(fake.url));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(4, { prefix: '+1829' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'wa-pair' });
			// The others are sent while the limited one waits, and the batch keeps running.
			await waitFor(async () => (await batchRow(res.id)).success_count === 3, 10_000);
			const mid = await items(res.id);
			expect(mid.find((i) => i.phone === limited)).toMatchObject({ status: 'pending', error_class: 'rate_limited', error_code: 'whatsapp_131056' });
			expect((await batchRow(res.id)).status).toBe('PROCESSING');
			await ended(res.id, 30_000);
			expect(await itemCounts(res.id)).toEqual({ sent: 4 });
			const times = fake.requests.filter((r) => recipientOf(r) === limited).map((r) => r.at);
			expect(times.length).toBe(2);
			expect(times[1] - times[0]).toBeGreaterThanOrEqual(6000);
		} finally {
			await fake.close();
		}
	}, 40_000);
});

describe('operator actions on unknown outcomes', () => {
	/** Each recipient's first request fails 500 (unknown), later ones are accepted. */
	async function unknownBatch(channelId: string, prefix: string) {
		const seen = new Set<string>();
		const fake = await startFakeProvider((_n, req) => {
			const to = recipientOf(req);
			if (seen.has(to)) return { kind: 'ok' };
			seen.add(to);
			return { kind: 'status', status: 500 };
		});
		await createChannel(channelId, 'twilio', twilio(fake.url));
		const { call } = await userCaller('operator');
		const ids = await seedContacts(4, { prefix });
		const res = await call.batch.send({ contactIds: ids, content: 'x', channelId });
		await ended(res.id);
		expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', unknown_count: 4, processed_count: 4 });
		return { fake, call, res };
	}

	it('resendUnknown: back to pending, counters undone, the batch re-opens and each recipient gets exactly one more request', async () => {
		const { fake, call, res } = await unknownBatch('tw-resend', '+1830');
		try {
			const { call: viewer } = await userCaller('viewer');
			await expect(viewer.batch.resendUnknown({ batchId: res.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
			const r = await call.batch.resendUnknown({ batchId: res.id });
			expect(r).toMatchObject({ resent: 4, status: 'PROCESSING', unknownCount: 0, processedCount: 0 });
			await ended(res.id);
			expect(await batchRow(res.id)).toMatchObject({ status: 'COMPLETED', processed_count: 4, success_count: 4, unknown_count: 0, failed_count: 0 });
			expect([...perRecipient(fake.requests).values()]).toEqual([2, 2, 2, 2]);
			await expect(call.batch.resendUnknown({ batchId: res.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		} finally {
			await fake.close();
		}
	});

	it('markUnknownSent: counted as sent, nothing is sent again', async () => {
		const { fake, call, res } = await unknownBatch('tw-mark', '+1831');
		try {
			const r = await call.batch.markUnknownSent({ batchId: res.id });
			expect(r).toMatchObject({ marked: 4, status: 'COMPLETED', successCount: 4, unknownCount: 0, processedCount: 4 });
			expect(await itemCounts(res.id)).toEqual({ sent: 4 });
			const it = (await items(res.id))[0];
			expect(it.error_code).toBe('http_500');
			expect(it.error_message).toMatch(/^Marked as sent by an operator/);
			await sleep(500);
			expect(fake.requests.length).toBe(4);
			await expect(call.batch.markUnknownSent({ batchId: res.id })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
		} finally {
			await fake.close();
		}
	});
});

describe('auth errors pause the channel', () => {
	it('Twilio 20003 pauses every running batch of the channel with the reason; others run on; resume after the fix sends each recipient once', async () => {
		let badToken = false;
		const accepted: string[] = [];
		const fake = await startFakeProvider((_n, req) => {
			if (badToken && req.path.includes('/ACbad/')) return twilioError(20003, 401, 'Authenticate');
			if (req.path.includes('/ACbad/')) accepted.push(recipientOf(req));
			return { kind: 'ok' };
		});
		try {
			await createChannel('tw-auth', 'twilio', twilio(fake.url, { accountSid: 'ACbad' }));
			await createChannel('tw-other', 'twilio', twilio(fake.url, { accountSid: 'ACgood' }));
			const { call } = await userCaller('operator');
			// A slow paced batch that is running (one sent, the next in 10 s) when the token goes bad.
			const slowIds = await seedContacts(3, { prefix: '+1832' });
			const slow = await call.batch.send({ contactIds: slowIds, content: 'x', channelId: 'tw-auth', ratePerMinute: 6 });
			await waitFor(async () => (await batchRow(slow.id)).success_count === 1, 10_000);
			badToken = true;
			const ids = await seedContacts(40, { prefix: '+1833' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'tw-auth' });
			const otherIds = await seedContacts(5, { prefix: '+1834' });
			const other = await call.batch.send({ contactIds: otherIds, content: 'x', channelId: 'tw-other' });

			await paused(res.id);
			await paused(slow.id, 3000);
			for (const id of [res.id, slow.id]) {
				const b = await batchRow(id);
				expect(b.error).toMatch(/refused the credentials of channel "tw-auth" \(twilio_20003\)/);
				// The provider's words are not in the error every viewer reads.
				expect(b.error).not.toMatch(/Authenticate/);
				expect((await itemCounts(id)).failed ?? 0).toBe(0);
			}
			// The slice stopped: not all 40 were tried, and nobody is counted.
			const refused = fake.requests.filter((r) => r.path.includes('/ACbad/') && recipientOf(r).startsWith('+1833'));
			expect(refused.length).toBeLessThan(40);
			// Requests in flight when the pause committed are answered (refused) and recorded
			// after it: each goes back to pending, none is counted.
			await waitFor(async () => !(await itemCounts(res.id)).sending, 5000);
			expect(await batchRow(res.id)).toMatchObject({ processed_count: 0, success_count: 0 });
			expect(await itemCounts(res.id)).toEqual({ pending: 40 });
			await ended(other.id);
			expect(await itemCounts(other.id)).toEqual({ sent: 5 });

			badToken = false;
			await call.batch.cancel({ batchId: slow.id });
			const resumed = await call.batch.resume({ batchId: res.id });
			expect(resumed.error).toBeNull();
			await ended(res.id);
			expect(await itemCounts(res.id)).toEqual({ sent: 40 });
			const times = new Map<string, number>();
			for (const to of accepted) times.set(to, (times.get(to) ?? 0) + 1);
			expect([...times.values()].every((n) => n === 1)).toBe(true);
			expect(accepted.filter((t) => t.startsWith('+1833')).length).toBe(40);
		} finally {
			await fake.close();
		}
	});

	it('WhatsApp 190 (expired token) and a plain HTTP 401 pause the batch, items stay pending', async () => {
		const fake = await startFakeProvider((_n, req) =>
			req.path.includes('/messages') ? graphError(190, 401, 'Error validating access token: Session has expired') : { kind: 'status', status: 401, body: 'no' }
		);
		try {
			await createChannel('wa-auth', 'whatsapp', whatsapp(fake.url));
			await createChannel('hook-auth', 'webhook', { url: `${fake.url}/hook` });
			const { call } = await userCaller('operator');
			const a = await call.batch.send({ contactIds: await seedContacts(15, { prefix: '+1835' }), content: 'x', channelId: 'wa-auth' });
			const b = await call.batch.send({ contactIds: await seedContacts(15, { prefix: '+1836' }), content: 'x', channelId: 'hook-auth' });
			await paused(a.id);
			await paused(b.id);
			expect((await batchRow(a.id)).error).toMatch(/\(whatsapp_190\)/);
			expect((await batchRow(b.id)).error).toMatch(/http_401/);
			// The pause commits at the first refusal; requests already in flight are recorded
			// (back to pending) when they come back, a moment later.
			const settled = async (id: string) => !('sending' in (await itemCounts(id)));
			await waitFor(() => settled(a.id), 10_000);
			await waitFor(() => settled(b.id), 10_000);
			expect(await itemCounts(a.id)).toEqual({ pending: 15 });
			expect(await itemCounts(b.id)).toEqual({ pending: 15 });
		} finally {
			await fake.close();
		}
	});
});

describe('circuit breaker', () => {
	it('pauses a batch whose recent sends are mostly refused, says why; resume sends the pending ones only and judges afresh', async () => {
		let broken = true;
		const fake = await startFakeProvider((_n, req) =>
			broken || recipientOf(req).endsWith('7') ? twilioError(30007, 400, 'Message filtered by the carrier') : { kind: 'ok' }
		);
		try {
			await createChannel('tw-breaker', 'twilio', twilio(fake.url));
			const { call } = await userCaller('operator');
			const ids = await seedContacts(100, { prefix: '+1837' });
			const res = await call.batch.send({ contactIds: ids, content: 'x', channelId: 'tw-breaker' });
			await paused(res.id);
			await sleep(300);
			const b = await batchRow(res.id);
			const before = fake.requests.length;
			expect(before).toBeLessThanOrEqual(30);
			expect(b.failed_count).toBe(before);
			expect(b.error).toMatch(/^Paused by the circuit breaker: \d+ of the last \d+ sends were refused \(more than 20%\): twilio_30007 ×\d+\. /);
			expect(b.error).not.toMatch(/filtered by the carrier/);
			expect((await itemCounts(res.id)).pending).toBe(100 - before);

			// The provider recovers except for one number in ten (10%, under the threshold).
			// Judged with the refusals before the pause, the first new refusal would trip it again.
			broken = false;
			await call.batch.resume({ batchId: res.id });
			await ended(res.id, 30_000);
			const after = await batchRow(res.id);
			expect(after.status).toBe('COMPLETED');
			expect(after.error).toBeNull();
			// Every recipient exactly one request: none of the refused ones was sent again.
			const counts = perRecipient(fake.requests);
			expect(counts.size).toBe(100);
			expect([...counts.values()].every((n) => n === 1)).toBe(true);
			const laterRefused = fake.requests.slice(before).filter((r) => recipientOf(r).endsWith('7')).length;
			expect(after).toMatchObject({ processed_count: 100, failed_count: before + laterRefused, success_count: 100 - before - laterRefused });
		} finally {
			await fake.close();
		}
	}, 60_000);
});
