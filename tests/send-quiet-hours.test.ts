/**
 * Quiet hours (issue 14 item 3): no send inside a window of the recipient's local time,
 * the recipient's zone from the contact's `timezone` attribute, else the number's area or
 * country; held recipients wait for the window's end without holding the others.
 * Windows are computed from the current time in the recipients' zones, so the tests hold
 * whatever the hour they run at.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { userCaller, waitFor, sleep } from './helpers';
import { batchRow, createChannel, itemCounts, useSendWorker } from './send-helpers';
import { startFakeProvider } from './fake-provider';
import { call as httpCall } from './http-inprocess';
import { createSession } from '../src/lib/server/auth/sessions';
import { sql } from '../src/lib/server/db/client';
import { quietEtaMs, quietUntilSql, zonesOfPhone } from '../src/lib/server/send/quiet';
import superjson from 'superjson';

useSendWorker();

/** HH:MM in `zone`, `addMin` minutes from now. */
function hhmm(zone: string, addMin = 0) {
	return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
		new Date(Date.now() + addMin * 60_000)
	);
}
/** A window from an hour ago to an hour ahead in `zone`: its recipients are inside it now. */
const around = (zone: string) => ({ start: hhmm(zone, -60), end: hhmm(zone, 60) });

let phoneSeq = 0;
/** A contact with the number `prefix` + a running suffix (unique in this file) and its attributes. */
async function contact(prefix: string, attributes: Record<string, string> = {}) {
	// +1 and 10 digits in North America; 11 digits after the + elsewhere here.
	const length = prefix.startsWith('+1') ? 12 : 13;
	const phone = prefix + String(++phoneSeq).padStart(length - prefix.length, '0');
	const [r] = await sql()<{ id: number }[]>`
		insert into contacts (phone_e164, name, attributes) values (${phone}, ${'Q ' + phoneSeq}, ${JSON.stringify(attributes)}::jsonb)
		returning id::int as id`;
	return r.id;
}

type Item = { contact_id: number; status: string; quiet_zones: string[] | null; not_before: Date | null; quiet_until: Date | null };
async function items(batchId: string): Promise<Map<number, Item>> {
	const rows = await sql()<Item[]>`
		select contact_id::int as contact_id, status, quiet_zones, not_before, quiet_until from batch_items where batch_id = ${batchId}`;
	return new Map(rows.map((r) => [r.contact_id, r]));
}

const later = () => new Date(Date.now() + 3_600_000);

async function rejects(p: Promise<unknown>, field: string) {
	const err = await p.then(
		() => null,
		(e) => e as TRPCError
	);
	expect(err, `expected BAD_REQUEST on ${field}`).toBeInstanceOf(TRPCError);
	expect(err!.code).toBe('BAD_REQUEST');
	const cause = err!.cause as { field?: string; issues?: { path: (string | number)[] }[] } | undefined;
	const fields = cause?.issues ? cause.issues.map((i) => String(i.path[0])) : [cause?.field];
	expect(fields).toContain(field);
}

describe('quiet hours: the window', () => {
	it('holds until the end of the window in the zone, across midnight and a DST change', async () => {
		const until = async (zones: string[], start: number, end: number, at: string) => {
			const q = sql();
			const [r] = await q<{ u: Date | null }[]>`select ${quietUntilSql(q, q`${zones}::text[]`, q`${start}::int`, q`${end}::int`, q`${at}::timestamptz`)} as u`;
			return r.u?.toISOString() ?? null;
		};
		// 22:00-08:00 wraps midnight: inside on both sides of it, outside at noon; the end is exclusive.
		expect(await until(['UTC'], 1320, 480, '2026-01-01T23:30:00Z')).toBe('2026-01-02T08:00:00.000Z');
		expect(await until(['UTC'], 1320, 480, '2026-01-02T07:59:00Z')).toBe('2026-01-02T08:00:00.000Z');
		expect(await until(['UTC'], 1320, 480, '2026-01-02T08:00:00Z')).toBeNull();
		expect(await until(['UTC'], 1320, 480, '2026-01-02T12:00:00Z')).toBeNull();
		expect(await until(['UTC'], 1320, 480, '2026-01-02T22:00:00Z')).toBe('2026-01-03T08:00:00.000Z');
		// A window within a day.
		expect(await until(['UTC'], 720, 780, '2026-01-02T12:10:00Z')).toBe('2026-01-02T13:00:00.000Z');
		expect(await until(['UTC'], 720, 780, '2026-01-02T11:59:00Z')).toBeNull();
		// New York springs forward on 2026-03-08: 01:30 EST is inside, and 08:00 that morning is EDT (12:00 UTC).
		expect(await until(['America/New_York'], 1320, 480, '2026-03-08T06:30:00Z')).toBe('2026-03-08T12:00:00.000Z');
		// Several zones: the latest end among those inside the window.
		expect(await until(['UTC', 'Asia/Tokyo'], 1320, 480, '2026-01-01T23:30:00Z')).toBe('2026-01-02T08:00:00.000Z');
		expect(await until(['UTC', 'Asia/Tokyo'], 1320, 480, '2026-01-01T14:00:00Z')).toBe('2026-01-01T23:00:00.000Z');
		// No window (a send without quiet hours): never held.
		const q = sql();
		const [r] = await q<{ u: Date | null }[]>`select ${quietUntilSql(q, q`array['UTC']`, q`null::int`, q`null::int`)} as u`;
		expect(r.u).toBeNull();
	});

	it("estimates a send's duration with quiet hours", () => {
		const night = { start: 22 * 60, end: 8 * 60 };
		const hour = 3_600_000;
		// Short: the wait of the last recipient held now, or the sending time, whichever is longer.
		expect(quietEtaMs(60_000, night, 2 * hour)).toBe(2 * hour);
		expect(quietEtaMs(3 * hour, night, hour)).toBe(3 * hour);
		// Twenty hours of sending with fourteen open a day: one ten-hour night on the way.
		expect(quietEtaMs(20 * hour, night, 0)).toBe(30 * hour);
	});

	it('finds the zone of a number: its area where known, else every zone of its country', () => {
		expect(zonesOfPhone('+12125550100')).toEqual(['America/New_York']);
		expect(zonesOfPhone('+13105550100')).toEqual(['America/Los_Angeles']);
		expect(zonesOfPhone('+14165550100')).toEqual(['America/Toronto']);
		expect(zonesOfPhone('+18765550100')).toEqual(['America/Jamaica']);
		expect(zonesOfPhone('+18885550100')).toEqual(expect.arrayContaining(['America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu']));
		expect(zonesOfPhone('+74951234567')).toEqual(['Europe/Moscow']);
		expect(zonesOfPhone('+77012345678')).toEqual(['Asia/Almaty']);
		expect(zonesOfPhone('+79161234567').length).toBeGreaterThan(5);
		expect(zonesOfPhone('+61298765432')).toEqual(['Australia/Sydney']);
		expect(zonesOfPhone('+5511987654321')).toEqual(['America/Sao_Paulo']);
		expect(zonesOfPhone('+5592987654321')).toEqual(['America/Manaus']);
		expect(zonesOfPhone('+525512345678')).toEqual(['America/Mexico_City']);
		expect(zonesOfPhone('+8613812345678')).toEqual(['Asia/Shanghai']);
		expect(zonesOfPhone('+81312345678')).toEqual(['Asia/Tokyo']);
		expect(zonesOfPhone('+80012345678')).toEqual(['UTC']);
	});
});

describe('batch.send with quietHours', () => {
	it('holds the recipient inside the window and sends the one outside; batch.get tells how many wait and until when; cancel cancels them', async () => {
		const { call } = await userCaller('operator');
		const tokyo = await contact('+8131', { timezone: 'Asia/Tokyo' });
		const saoPaulo = await contact('+551130', { timezone: 'America/Sao_Paulo' });
		const quietHours = around('Asia/Tokyo');
		const b = await call.batch.send({ contactIds: [tokyo, saoPaulo], content: 'Hello {{name}}', quietHours });
		expect(b.status).toBe('PENDING');
		await waitFor(async () => (await items(b.id)).get(saoPaulo)!.status === 'sent');
		// Long enough for lanes to have looked again: the held one stays, the batch runs on, its lanes parked.
		await sleep(1500);
		const it = await items(b.id);
		expect(it.get(tokyo)).toMatchObject({ status: 'pending', quiet_zones: ['Asia/Tokyo'] });
		const until = it.get(tokyo)!.not_before!;
		expect(until.getTime()).toBeGreaterThan(Date.now() + 58 * 60_000);
		expect(until.getTime()).toBeLessThanOrEqual(Date.now() + 61 * 60_000);
		expect(hhmm('Asia/Tokyo', (until.getTime() - Date.now()) / 60_000 + 0.01)).toBe(quietHours.end);
		expect(it.get(tokyo)!.quiet_until).toEqual(until);
		expect((await batchRow(b.id)).status).toBe('PROCESSING');
		const [job] = await sql()<{ run_at: Date }[]>`
			select run_at from graphile_worker.jobs where key = ${`send:${b.id}:0`}`;
		expect(job.run_at.getTime()).toBeGreaterThanOrEqual(until.getTime() - 1000);

		const got = await call.batch.get({ batchId: b.id });
		expect(got.quietHours).toEqual(quietHours);
		expect(got.quietWaiting).toEqual({ count: 1, next: until, until });
		expect(got.processedCount).toBe(1);
		const status = await call.batch.status({ batchId: b.id });
		expect(status.quietWaiting?.count).toBe(1);

		// The audit log keeps the window.
		const [a] = await sql()<{ details: Record<string, unknown> }[]>`
			select details from audit_log where action = 'batch.send' and target_id = ${b.id}`;
		expect(a.details.quietHours).toEqual(quietHours);

		await call.batch.cancel({ batchId: b.id });
		expect(await itemCounts(b.id)).toEqual({ sent: 1, cancelled: 1 });
		expect((await call.batch.get({ batchId: b.id })).quietWaiting).toMatchObject({ count: 0 });
	});

	it('the timezone attribute wins over the number; an unknown zone name falls back to the number', async () => {
		const { call } = await userCaller('operator');
		const overridden = await contact('+8132', { timezone: 'America/Sao_Paulo' });
		const invalid = await contact('+8133', { timezone: 'Mars/Olympus_Mons' });
		const lowerCase = await contact('+551131', { timezone: 'asia/tokyo' });
		const b = await call.batch.send({
			contactIds: [overridden, invalid, lowerCase],
			content: 'x',
			quietHours: around('Asia/Tokyo'),
			scheduleAt: later()
		});
		const it = await items(b.id);
		expect(it.get(overridden)).toMatchObject({ quiet_zones: ['America/Sao_Paulo'], not_before: null });
		expect(it.get(invalid)!.quiet_zones).toEqual(['Asia/Tokyo']);
		expect(it.get(invalid)!.not_before).not.toBeNull();
		expect(it.get(lowerCase)!.quiet_zones).toEqual(['Asia/Tokyo']);
		expect(it.get(lowerCase)!.not_before).not.toBeNull();
		expect((await call.batch.get({ batchId: b.id })).quietWaiting?.count).toBe(2);
		await call.batch.cancel({ batchId: b.id });
	});

	it("a North American number's area code picks its zone", async () => {
		const { call } = await userCaller('operator');
		const ny = await contact('+1212555');
		const la = await contact('+1310555');
		const toronto = await contact('+1416555');
		const tollFree = await contact('+1888555');
		const b = await call.batch.send({
			contactIds: [ny, la, toronto, tollFree],
			content: 'x',
			quietHours: around('America/New_York'),
			scheduleAt: later()
		});
		const it = await items(b.id);
		expect(it.get(ny)!.quiet_zones).toEqual(['America/New_York']);
		expect(it.get(la)!.quiet_zones).toEqual(['America/Los_Angeles']);
		expect(it.get(toronto)!.quiet_zones).toEqual(['America/Toronto']);
		// Three hours behind New York: outside a window of an hour either side of New York's now.
		expect(it.get(la)!.not_before).toBeNull();
		expect(it.get(ny)!.not_before).not.toBeNull();
		expect(it.get(toronto)!.not_before).toEqual(it.get(ny)!.not_before);
		// A toll-free number has no place: every US zone counts, New York's among them.
		expect(it.get(tollFree)!.quiet_zones!.length).toBeGreaterThan(3);
		expect(it.get(tollFree)!.not_before).not.toBeNull();
		await call.batch.cancel({ batchId: b.id });
	});

	it('a window across midnight holds the recipient past midnight until its end', async () => {
		const { call } = await userCaller('operator');
		// A fixed-offset zone where it is now between 00:00 and 00:59, and one twelve hours off.
		const utcHour = new Date().getUTCHours();
		const off = utcHour <= 12 ? -utcHour : 24 - utcHour;
		const zone = (o: number) => (o === 0 ? 'Etc/GMT' : `Etc/GMT${o > 0 ? '-' : '+'}${Math.abs(o)}`);
		const midnight = zone(off);
		const noon = zone(off > 0 ? off - 12 : off + 12);
		expect(hhmm(midnight).slice(0, 2)).toBe('00');
		const a = await contact('+8134', { timezone: midnight });
		const b2 = await contact('+8135', { timezone: noon });
		const b = await call.batch.send({ contactIds: [a, b2], content: 'x', quietHours: { start: '22:00', end: '02:00' }, scheduleAt: later() });
		const it = await items(b.id);
		const until = it.get(a)!.not_before!;
		expect(until).not.toBeNull();
		expect(hhmm(midnight, (until.getTime() - Date.now()) / 60_000 + 0.01)).toBe('02:00');
		expect(until.getTime() - Date.now()).toBeGreaterThan(60 * 60_000);
		expect(until.getTime() - Date.now()).toBeLessThanOrEqual(2 * 60 * 60_000);
		expect(it.get(b2)!.not_before).toBeNull();
		await call.batch.cancel({ batchId: b.id });
	});

	it('refuses a bad window with BAD_REQUEST naming quietHours, and writes nothing', async () => {
		const { call } = await userCaller('operator');
		const id = await contact('+8136');
		const [before] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
		const bad = [
			{ start: '25:00', end: '08:00' },
			{ start: '7:00', end: '08:00' },
			{ start: '22:00', end: '8am' },
			{ start: '22:00', end: '22:00' },
			{ start: '22:00' },
			{ start: '22:00', end: '08:00', zone: 'UTC' },
			'22:00-08:00'
		];
		for (const q of bad) {
			await rejects(call.batch.send({ contactIds: [id], content: 'x', quietHours: q as never }), 'quietHours');
			await rejects(call.batch.precheck({ contactIds: [id], content: 'x', quietHours: q as never }), 'quietHours');
		}
		const admin = await userCaller('admin');
		await rejects(admin.call.channels.create({ id: 'q-bad', name: 'B', kind: 'sandbox', quietHours: { start: '10:00', end: '10:00' } }), 'quietHours');
		const [after] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations`;
		expect(after.n).toBe(before.n);

		// Over HTTP as a client sees it: 400 with the field's issue, never a 500.
		const session = await createSession((await userCaller('operator')).user.id);
		const { res, body } = await httpCall(
			'mutation',
			'batch.send',
			{ contactIds: [id], content: 'x', quietHours: { start: '24:00', end: '06:00' } },
			{ cookie: session.token }
		);
		expect(res.status).toBe(400);
		expect(body.error.json.data.code).toBe('BAD_REQUEST');
		expect(Object.keys(body.error.json.data.zodError.fieldErrors)).toContain('quietHours');

		// And a good one: the batch and what batch.get says of it, as a client reads them.
		const tokyo = await contact('+81313', { timezone: 'Asia/Tokyo' });
		const quietHours = around('Asia/Tokyo');
		const sent = await httpCall('mutation', 'batch.send', { contactIds: [tokyo], content: 'x', quietHours, scheduleAt: later() }, { cookie: session.token });
		expect(sent.res.status).toBe(200);
		const batchId = (superjson.deserialize(sent.body.result.data) as { id: string }).id;
		const got = await httpCall('query', 'batch.get', { batchId }, { cookie: session.token });
		const detail = superjson.deserialize(got.body.result.data) as { quietHours: unknown; quietWaiting: { count: number; until: Date } };
		expect(detail.quietHours).toEqual(quietHours);
		expect(detail.quietWaiting.count).toBe(1);
		expect(detail.quietWaiting.until).toBeInstanceOf(Date);
		await httpCall('mutation', 'batch.cancel', { batchId }, { cookie: session.token });
	});

	it("a channel's default window applies when the send names none, and quietHours: null turns it off", async () => {
		const admin = await userCaller('admin');
		const window = around('Asia/Tokyo');
		const created = await admin.call.channels.create({ id: 'q-sandbox', name: 'Quiet sandbox', kind: 'sandbox', quietHours: window });
		expect(created.quietHours).toEqual(window);
		// channels.update stays a patch: a rename keeps the window.
		await admin.call.channels.update({ id: 'q-sandbox', name: 'Quiet sandbox 2' });
		expect((await admin.call.channels.list()).find((c) => c.id === 'q-sandbox')?.quietHours).toEqual(window);

		const { call } = await userCaller('operator');
		const tokyo = await contact('+8137', { timezone: 'Asia/Tokyo' });
		const byDefault = await call.batch.send({ contactIds: [tokyo], content: 'x', channelId: 'q-sandbox', scheduleAt: later() });
		expect((await call.batch.get({ batchId: byDefault.id })).quietHours).toEqual(window);
		expect((await items(byDefault.id)).get(tokyo)!.not_before).not.toBeNull();
		const none = await call.batch.send({ contactIds: [tokyo], content: 'x', channelId: 'q-sandbox', quietHours: null, scheduleAt: later() });
		expect((await call.batch.get({ batchId: none.id })).quietHours).toBeNull();
		expect((await items(none.id)).get(tokyo)).toMatchObject({ quiet_zones: null, not_before: null });
		expect((await call.batch.get({ batchId: none.id })).quietWaiting).toBeNull();
		// An explicit window wins over the channel's.
		const other = { start: hhmm('Asia/Tokyo', 120), end: hhmm('Asia/Tokyo', 180) };
		const explicit = await call.batch.send({ contactIds: [tokyo], content: 'x', channelId: 'q-sandbox', quietHours: other, scheduleAt: later() });
		expect((await call.batch.get({ batchId: explicit.id })).quietHours).toEqual(other);
		expect((await items(explicit.id)).get(tokyo)!.not_before).toBeNull();

		await admin.call.channels.update({ id: 'q-sandbox', quietHours: null });
		expect((await admin.call.channels.list()).find((c) => c.id === 'q-sandbox')).toMatchObject({ quietHours: null, name: 'Quiet sandbox 2' });
		const [audit] = await sql()<{ details: { before: { quietHours: unknown }; after: { quietHours: unknown } } }[]>`
			select details from audit_log where action = 'channels.update' and target_id = 'q-sandbox' order by id desc limit 1`;
		expect(audit.details.before.quietHours).toEqual(window);
		expect(audit.details.after.quietHours).toBeNull();
		for (const b of [byDefault, none, explicit]) await call.batch.cancel({ batchId: b.id });
	});

	it('batch.precheck counts the recipients inside their window and its ETA waits for them', async () => {
		const { call } = await userCaller('operator');
		const tokyo = await contact('+8138', { timezone: 'Asia/Tokyo' });
		const saoPaulo = await contact('+551132', { timezone: 'America/Sao_Paulo' });
		const r = await call.batch.precheck({ contactIds: [tokyo, saoPaulo], content: 'x', quietHours: around('Asia/Tokyo') });
		expect(r.quiet).toMatchObject({ count: 1 });
		expect(r.etaMs).toBeGreaterThan(58 * 60_000);
		const none = await call.batch.precheck({ contactIds: [tokyo, saoPaulo], content: 'x' });
		expect(none.quiet).toBeNull();
		expect(none.etaMs).toBeLessThan(60_000);
	});

	it('a paced send and an HTTP channel hold the recipient in its window and send the others', async () => {
		const fake = await startFakeProvider();
		try {
			await createChannel('q-hook', 'webhook', { url: `${fake.url}/hook`, timeoutMs: 2000 });
			const { call } = await userCaller('operator');
			const held = await contact('+8139', { timezone: 'Asia/Tokyo' });
			const others = [await contact('+551133', { timezone: 'America/Sao_Paulo' }), await contact('+551134', { timezone: 'America/Sao_Paulo' })];
			const quietHours = around('Asia/Tokyo');
			const hook = await call.batch.send({ contactIds: [others[0], held, others[1]], content: 'x', channelId: 'q-hook', quietHours });
			const paced = await call.batch.send({ contactIds: [others[0], held, others[1]], content: 'y', ratePerMinute: 600, quietHours });
			for (const b of [hook, paced]) {
				await waitFor(async () => (await itemCounts(b.id)).sent === 2);
				await sleep(500);
				expect(await itemCounts(b.id)).toEqual({ sent: 2, pending: 1 });
				expect((await batchRow(b.id)).status).toBe('PROCESSING');
			}
			expect(fake.requests.length).toBe(2);
			for (const b of [hook, paced]) await call.batch.cancel({ batchId: b.id });
			expect(await itemCounts(paced.id)).toEqual({ sent: 2, cancelled: 1 });
		} finally {
			await fake.close();
		}
	});

	it('a recipient whose window begins after the batch was created is held when its turn comes, and stays held through pause and resume', async () => {
		const { call } = await userCaller('operator');
		const tokyo = await contact('+81311', { timezone: 'Asia/Tokyo' });
		// Created outside the window (it starts in two hours), starting in a moment...
		const b = await call.batch.send({
			contactIds: [tokyo],
			content: 'x',
			quietHours: { start: hhmm('Asia/Tokyo', 120), end: hhmm('Asia/Tokyo', 180) },
			scheduleAt: new Date(Date.now() + 2500)
		});
		expect((await items(b.id)).get(tokyo)!.not_before).toBeNull();
		// ...and by the time it runs the recipient's window has begun (the clock moved into it).
		const now = around('Asia/Tokyo');
		const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
		await sql()`update batch_operations set quiet_start = ${minutes(now.start)}, quiet_end = ${minutes(now.end)} where id = ${b.id}`;
		await waitFor(async () => (await items(b.id)).get(tokyo)!.quiet_until !== null, 15_000);
		expect((await batchRow(b.id)).status).toBe('PROCESSING');
		expect((await items(b.id)).get(tokyo)!.status).toBe('pending');

		await call.batch.pause({ batchId: b.id });
		await call.batch.resume({ batchId: b.id });
		await sleep(1500);
		expect(await itemCounts(b.id)).toEqual({ pending: 1 });
		const [o] = await sql()<{ n: number }[]>`select count(*)::int as n from outbox where batch_id = ${b.id}`;
		expect(o.n).toBe(0);
		await call.batch.cancel({ batchId: b.id });
		expect(await itemCounts(b.id)).toEqual({ cancelled: 1 });
	});

	it("a retry that would fall inside the recipient's window waits for its end", async () => {
		// The first answer is 429 (retry after 1 s); meanwhile the recipient's window begins.
		let fired = false;
		const now = around('Asia/Tokyo');
		const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
		const fake = await startFakeProvider((n) => {
			if (n === 0 && !fired) {
				fired = true;
				// Not awaited (the answer is due now), but run at once: a postgres.js query starts on then().
				void sql()`update batch_operations set quiet_start = ${minutes(now.start)}, quiet_end = ${minutes(now.end)} where channel_id = 'q-retry'`.then(
					() => {},
					() => {}
				);
				return { kind: 'status', status: 429, retryAfter: '1' };
			}
			return { kind: 'ok' };
		});
		try {
			await createChannel('q-retry', 'webhook', { url: `${fake.url}/hook`, timeoutMs: 2000 });
			const { call } = await userCaller('operator');
			const tokyo = await contact('+81312', { timezone: 'Asia/Tokyo' });
			const b = await call.batch.send({
				contactIds: [tokyo],
				content: 'x',
				channelId: 'q-retry',
				quietHours: { start: hhmm('Asia/Tokyo', 120), end: hhmm('Asia/Tokyo', 180) }
			});
			await waitFor(async () => (await items(b.id)).get(tokyo)!.quiet_until !== null, 15_000);
			await sleep(500);
			expect(fake.requests.length).toBe(1);
			expect(await itemCounts(b.id)).toEqual({ pending: 1 });
			expect((await batchRow(b.id)).status).toBe('PROCESSING');
			await call.batch.cancel({ batchId: b.id });
		} finally {
			await fake.close();
		}
	});

	it('a held recipient goes out when its window ends', { timeout: 100_000 }, async () => {
		// The window ends at the next minute in Tokyo: not within the last seconds of this one.
		const intoMinute = new Date().getSeconds();
		if (intoMinute > 50) await sleep((61 - intoMinute) * 1000);
		const { call } = await userCaller('operator');
		const tokyo = await contact('+81310', { timezone: 'Asia/Tokyo' });
		const quietHours = { start: hhmm('Asia/Tokyo', -60), end: hhmm('Asia/Tokyo', 1) };
		const b = await call.batch.send({ contactIds: [tokyo], content: 'At last', quietHours });
		const until = (await items(b.id)).get(tokyo)!.not_before!;
		expect(until).not.toBeNull();
		expect(until.getTime() - Date.now()).toBeLessThanOrEqual(61_000);
		expect((await call.batch.get({ batchId: b.id })).quietWaiting?.count).toBe(1);
		await waitFor(async () => (await batchRow(b.id)).status === 'COMPLETED', 90_000, 250);
		const [sent] = await sql()<{ sent_at: Date }[]>`select created_at as sent_at from outbox where batch_id = ${b.id}`;
		expect(sent.sent_at.getTime()).toBeGreaterThanOrEqual(until.getTime());
		expect(await itemCounts(b.id)).toEqual({ sent: 1 });
		expect((await call.batch.get({ batchId: b.id })).quietWaiting).toMatchObject({ count: 0 });
	});
});
