/**
 * batch.precheck through the API: the audience after opt-outs, missing and repeated ids,
 * recipients missing a template variable, sample renders, SMS parts and the duration —
 * and nothing written.
 */
import { describe, expect, it } from 'vitest';
import { userCaller } from './helpers';
import { sql } from '../src/lib/server/db/client';
import { smsSegments } from '../src/lib/server/send/precheck';

async function written() {
	const [r] = await sql()<{ b: number; i: number; j: number }[]>`
		select (select count(*)::int from batch_operations) as b, (select count(*)::int from batch_items) as i,
			(select count(*)::int from graphile_worker.jobs) as j`;
	return r;
}

/** 10 contacts tagged `tag`: #3 opted out, #4 and #7 without a city, #5 with a city in Chinese. */
async function seed(tag: string, prefix: string) {
	const rows = await sql()<{ id: number }[]>`
		insert into contacts (phone_e164, name, tags, attributes, opted_out_at)
		select ${prefix} || lpad(g::text, 6, '0'), 'Name ' || g, array[${tag}]::text[],
			case when g in (4, 7) then '{}'::jsonb when g = 5 then '{"city":"北京"}'::jsonb else jsonb_build_object('city', 'City ' || g) end,
			case when g = 3 then now() end
		from generate_series(1, 10) g order by g
		returning id::int as id`;
	return rows.map((r) => r.id);
}

describe('batch.precheck', () => {
	it('counts a filter with an opted-out contact and recipients missing a variable, and writes nothing', async () => {
		const { call } = await userCaller('operator');
		await seed('pc-a', '+1888100');
		const before = await written();
		const r = await call.batch.precheck({ filter: { tags: ['pc-a'] }, content: 'Hi {{name}} from {{city}}, {{shop|our shop}}' });
		expect(r.recipients).toBe(9);
		expect(r.skipped).toEqual({ optedOut: 1, missing: 0, duplicate: 0 });
		expect(r.missingVariables).toEqual({ city: 2 });
		expect(r.samples).toHaveLength(5);
		expect(r.samples[0]).toMatchObject({ phone: '+1888100000001', text: 'Hi Name 1 from City 1, our shop' });
		// Contact 3 opted out: not among the samples.
		expect(r.samples.map((s) => s.phone)).not.toContain('+1888100000003');
		// One recipient's city is Chinese: the longest render must go as UCS-2.
		expect(r.segments.encoding).toBe('UCS-2');
		expect(r.segments.parts).toBe(1);
		expect(r.etaMs).toBeGreaterThanOrEqual(0);
		expect(await written()).toEqual(before);

		// The send of the same input agrees with its review.
		const b = await call.batch.send({ filter: { tags: ['pc-a'] }, content: 'Hi {{name}} from {{city}}, {{shop|our shop}}', scheduleAt: new Date(Date.now() + 3_600_000) });
		expect(b.totalCount - b.skippedCount).toBe(r.recipients);
		expect(b.skippedCount).toBe(r.skipped.optedOut + r.skipped.missing);
	});

	it('counts missing and repeated ids, and the duration of a paced send', async () => {
		const { call } = await userCaller('operator');
		const ids = await seed('pc-b', '+1888200');
		const r = await call.batch.precheck({
			contactIds: [ids[0], ids[0], ids[1], ids[2], 999_999_999],
			content: 'Plain text',
			ratePerMinute: 60,
			idempotencyKey: 'ignored'
		});
		expect(r.recipients).toBe(2);
		expect(r.skipped).toEqual({ optedOut: 1, missing: 1, duplicate: 1 });
		expect(r.missingVariables).toEqual({});
		expect(r.segments).toEqual({ parts: 1, encoding: 'GSM-7' });
		// Two recipients one second apart.
		expect(r.etaMs).toBe(1000);
		const b = await call.batch.send({ contactIds: [ids[0], ids[0], ids[1], ids[2], 999_999_999], content: 'Plain text', scheduleAt: new Date(Date.now() + 3_600_000) });
		expect(b.totalCount - b.skippedCount).toBe(r.recipients);
		expect(b.skippedCount).toBe(r.skipped.optedOut + r.skipped.missing);
	});

	it('sizes the longest render in SMS parts', async () => {
		const { call } = await userCaller('operator');
		await seed('pc-c', '+1888300');
		await sql()`update contacts set attributes = jsonb_build_object('note', repeat('a', 200)) where phone_e164 = '+1888300000002'`;
		const r = await call.batch.precheck({ filter: { tags: ['pc-c'] }, content: '{{note|-}} end' });
		// 200 + 4 GSM-7 characters: two parts of 153.
		expect(r.segments).toEqual({ parts: 2, encoding: 'GSM-7' });
		expect(r.missingVariables).toEqual({});
	});

	it('is refused to a viewer and names bad fields', async () => {
		const { call: viewer } = await userCaller('viewer');
		await expect(viewer.batch.precheck({ filter: { all: true }, content: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
		const { call } = await userCaller('operator');
		await expect(call.batch.precheck({ filter: { all: true }, content: 'x', channelId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
	});

	it('counts SMS parts as carriers do', () => {
		expect(smsSegments('a'.repeat(160))).toMatchObject({ parts: 1, encoding: 'GSM-7' });
		expect(smsSegments('a'.repeat(161))).toMatchObject({ parts: 2, encoding: 'GSM-7' });
		expect(smsSegments('€'.repeat(80))).toMatchObject({ parts: 1, encoding: 'GSM-7', units: 160 });
		expect(smsSegments('你'.repeat(70))).toMatchObject({ parts: 1, encoding: 'UCS-2' });
		expect(smsSegments('你'.repeat(71))).toMatchObject({ parts: 2, encoding: 'UCS-2' });
	});
});
