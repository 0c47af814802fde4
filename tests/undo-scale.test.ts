/**
 * Undo at scale: a 100 000-row import (90 000 created, 10 000 updated) undone, and a
 * 100 000-contact delete restored, each through the API and a real worker. Their
 * timings are printed (README, "Undo"), not asserted: this machine's load varies.
 */
import { describe, expect, it } from 'vitest';
import { sql } from '../src/lib/server/db/client';
import { useWorker } from './worker-helpers';
import { userCaller } from './helpers';
import { finished } from './undo-helpers';

const N = 100_000;

useWorker({ IMPORT_JSON_MAX_CONTACTS: String(N) });

/** Seconds between the batch's start and end, as the database clock recorded them. */
async function runSeconds(batchId: string): Promise<number> {
	const [r] = await sql()<{ s: number }[]>`
		select extract(epoch from completed_at - started_at)::float8 as s from batch_operations where id = ${batchId}`;
	return Math.round(r.s * 100) / 100;
}

describe('undo at scale', () => {
	it(`undoes a ${N.toLocaleString('en')}-row import`, { timeout: 600_000 }, async () => {
		const { call } = await userCaller('operator');
		const updated = N / 10;
		// Contacts the import will update (every tenth row of the file).
		await sql()`insert into contacts (phone_e164, name, tags, attributes)
			select '+4475' || lpad((g * 10)::text, 8, '0'), 'Before ' || g, array['before'], jsonb_build_object('k', 'old')
			from generate_series(1, ${updated}) g`;
		const contacts = Array.from({ length: N }, (_, i) => ({
			phoneE164: `+4475${String(i + 1).padStart(8, '0')}`,
			name: `Imported ${i + 1}`,
			tags: ['imported'],
			attributes: { k: 'new' }
		}));
		const imp = await call.batch.import({ contacts, skipDuplicates: false });
		expect(await finished(call, imp.id, 300_000)).toMatchObject({ status: 'COMPLETED', successCount: N });
		const importSeconds = await runSeconds(imp.id);

		const t0 = performance.now();
		const undo = await call.batch.undo({ batchId: imp.id });
		expect(await finished(call, undo.id, 300_000)).toMatchObject({ status: 'COMPLETED', totalCount: N, successCount: N, failedCount: 0 });
		const wall = (performance.now() - t0) / 1000;
		const undoSeconds = await runSeconds(undo.id);

		const [left] = await sql()<{ n: number; before: number }[]>`
			select count(*)::int as n, count(*) filter (where name like 'Before %' and tags = array['before'] and attributes = '{"k":"old"}')::int as before
			from contacts where phone_e164 like '+4475%'`;
		expect(left).toEqual({ n: updated, before: updated });
		console.log(
			`[undo-scale] import of ${N} rows (${N - updated} created, ${updated} updated): ${importSeconds} s; ` +
				`its undo: ${undoSeconds} s in the worker, ${wall.toFixed(2)} s from the call to COMPLETED`
		);
	});

	it(`restores a ${N.toLocaleString('en')}-contact delete`, { timeout: 600_000 }, async () => {
		const { call } = await userCaller('operator');
		await sql()`insert into contacts (phone_e164, name, tags, attributes, opted_out_at)
			select '+4474' || lpad(g::text, 8, '0'), 'Del ' || g, array['scale-del', 't' || (g % 7)], jsonb_build_object('n', g::text),
				case when g % 10 = 0 then now() end
			from generate_series(1, ${N}) g`;
		const del = await call.batch.delete({ filter: { tags: ['scale-del'] } });
		expect(await finished(call, del.id, 300_000)).toMatchObject({ status: 'COMPLETED', successCount: N });
		const deleteSeconds = await runSeconds(del.id);

		const t0 = performance.now();
		const undo = await call.batch.undo({ batchId: del.id });
		expect(await finished(call, undo.id, 300_000)).toMatchObject({ status: 'COMPLETED', totalCount: N, successCount: N, failedCount: 0 });
		const wall = (performance.now() - t0) / 1000;
		const undoSeconds = await runSeconds(undo.id);

		const [back] = await sql()<{ n: number; optedOut: number; sameAttrs: number }[]>`
			select count(*)::int as n, count(opted_out_at)::int as "optedOut",
				count(*) filter (where attributes->>'n' = substr(phone_e164, 6)::int::text)::int as "sameAttrs"
			from contacts where 'scale-del' = any(tags)`;
		expect(back).toEqual({ n: N, optedOut: N / 10, sameAttrs: N });
		console.log(
			`[undo-scale] delete of ${N} contacts: ${deleteSeconds} s; ` +
				`its restore: ${undoSeconds} s in the worker, ${wall.toFixed(2)} s from the call to COMPLETED`
		);
	});
});
