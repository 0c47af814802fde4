/**
 * batch.undo of an IMPORT: the contacts it created go, the ones it updated get their
 * name, tags and attributes back; a contact changed since the import is left as it is
 * and listed; whole-batch refusals are typed errors.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { useWorker } from './worker-helpers';
import { userCaller } from './helpers';
import { createSession } from '../src/lib/server/auth/sessions';
import { call as httpCall } from './http-inprocess';
import { contactsByPhone, finished, undoItems } from './undo-helpers';

// Two rows per chunk: a phone the file repeats lands in two chunks (two writes of one contact).
useWorker({ IMPORT_CHUNK_ROWS: '2' });

let seq = 0;
const phone = () => `+4479${String(++seq).padStart(8, '0')}`;

async function existing(name: string, tags: string[], attributes: Record<string, string>) {
	const p = phone();
	await sql()`insert into contacts (phone_e164, name, tags, attributes, source)
		values (${p}, ${name}, ${tags}, ${JSON.stringify(attributes)}::jsonb, 'before')`;
	return p;
}

/** The error a call throws, as tRPC gives it to a client (code, message, data.reason). */
async function refusal(p: Promise<unknown>) {
	try {
		await p;
	} catch (e) {
		expect(e).toBeInstanceOf(TRPCError);
		const err = e as TRPCError & { cause?: { reason?: string } };
		return { code: err.code, message: err.message, reason: err.cause?.reason };
	}
	throw new Error('expected a refusal');
}

describe('batch.undo of an import', () => {
	it('removes the contacts it created and puts back the name, tags and attributes of those it updated', async () => {
		const { call } = await userCaller('operator');
		const renamed = await existing('Ann Old', ['old'], { city: 'Leeds' });
		const untouched = await existing('Kim', ['stay'], { city: 'York' });
		const fresh1 = phone();
		const fresh2 = phone();

		const imp = await call.batch.import({
			skipDuplicates: false,
			tags: ['fair'],
			contacts: [
				{ phoneE164: renamed, name: 'Ann New', tags: ['vip'], attributes: { city: 'Paris', plan: 'gold' } },
				{ phoneE164: fresh1, name: 'New One', attributes: { city: 'Oslo' } },
				{ phoneE164: fresh2, name: 'New Two' },
				// The same phone again later in the file: the contact's previous values are
				// those from before the import, not the import's own first write.
				{ phoneE164: renamed, name: 'Ann Newer' }
			]
		});
		expect(await finished(call, imp.id)).toMatchObject({ status: 'COMPLETED' });
		const after = await contactsByPhone([renamed, fresh1, fresh2]);
		expect(after.get(renamed)).toMatchObject({ name: 'Ann Newer', attributes: { city: 'Paris', plan: 'gold' } });
		expect(after.get(renamed)!.tags.sort()).toEqual(['fair', 'old', 'vip']);
		expect(after.size).toBe(3);

		const undo = await call.batch.undo({ batchId: imp.id });
		expect(undo).toMatchObject({ type: 'UNDO', status: 'PENDING', input: { undoes: imp.id, undoesType: 'IMPORT' } });
		// The audit log has it, with its actor, from the transaction that created the UNDO batch.
		const [entry] = await sql()<{ actor_user_id: number; target_id: string; details: { undoes: string } }[]>`
			select actor_user_id::int as actor_user_id, target_id, details from audit_log where action = 'batch.undo' and target_id = ${undo.id}`;
		expect(entry).toMatchObject({ actor_user_id: undo.createdBy, details: { undoes: imp.id, originalType: 'IMPORT' } });
		expect(await finished(call, undo.id)).toMatchObject({
			status: 'COMPLETED',
			totalCount: 3,
			processedCount: 3,
			successCount: 3,
			failedCount: 0,
			progress: 100
		});

		const now = await contactsByPhone([renamed, fresh1, fresh2, untouched]);
		expect(now.has(fresh1)).toBe(false);
		expect(now.has(fresh2)).toBe(false);
		expect(now.get(renamed)).toMatchObject({ name: 'Ann Old', tags: ['old'], attributes: { city: 'Leeds' } });
		expect(now.get(untouched)).toMatchObject({ name: 'Kim', tags: ['stay'], attributes: { city: 'York' } });

		// The import says who undid it; the undo says what it undid.
		const original = await call.batch.get({ batchId: imp.id });
		expect(original.undoneBy).toBe(undo.id);
		const u = await call.batch.get({ batchId: undo.id });
		expect(u.input).toEqual({ undoes: imp.id, undoesType: 'IMPORT' });

		// Once is enough: a second undo is refused, as is undoing the undo.
		expect(await refusal(call.batch.undo({ batchId: imp.id }))).toMatchObject({ code: 'CONFLICT', reason: 'already_undone' });
		expect(await refusal(call.batch.undo({ batchId: undo.id }))).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'wrong_type' });
	});

	it('leaves a contact changed since the import as it is and lists it, undoing the rest', async () => {
		const { call } = await userCaller('operator');
		const edited = await existing('Bea', ['b'], {});
		const created = phone();
		const createdThenEdited = phone();
		const imp = await call.batch.import({
			skipDuplicates: false,
			contacts: [
				{ phoneE164: edited, name: 'Bea Imported' },
				{ phoneE164: created, name: 'Cy' },
				{ phoneE164: createdThenEdited, name: 'Di' }
			]
		});
		expect(await finished(call, imp.id)).toMatchObject({ status: 'COMPLETED' });
		const byPhone = await contactsByPhone([edited, createdThenEdited]);
		// Someone edits two of them after the import.
		await call.contacts.update({ id: byPhone.get(edited)!.id, name: 'Bea Edited' });
		await call.contacts.update({ id: byPhone.get(createdThenEdited)!.id, tags: ['keep-me'] });

		const undo = await call.batch.undo({ batchId: imp.id });
		expect(await finished(call, undo.id)).toMatchObject({ status: 'COMPLETED', totalCount: 3, successCount: 1, failedCount: 2 });
		const now = await contactsByPhone([edited, created, createdThenEdited]);
		expect(now.has(created)).toBe(false);
		expect(now.get(edited)?.name).toBe('Bea Edited');
		expect(now.get(createdThenEdited)?.tags).toEqual(['keep-me']);

		const items = await undoItems(call, undo.id);
		expect(items).toHaveLength(2);
		for (const it of items) {
			expect(it).toMatchObject({ status: 'failed', errorCode: 'changed_since' });
			expect(it.errorMessage).toMatch(/Changed since the import/);
		}
		expect(items.map((i) => i.phone).sort()).toEqual([edited, createdThenEdited].sort());
		const detail = await call.batch.get({ batchId: undo.id });
		expect(detail.items.byStatus).toEqual({ failed: 2 });
	});

	it('in skip mode removes only what it created: existing contacts were never touched', async () => {
		const { call } = await userCaller('operator');
		const kept = await existing('Eve', ['e'], { a: '1' });
		const created = phone();
		const imp = await call.batch.import({ contacts: [{ phoneE164: kept, name: 'Eve 2' }, { phoneE164: created, name: 'Fay' }] });
		expect(await finished(call, imp.id)).toMatchObject({ status: 'COMPLETED' });
		const undo = await call.batch.undo({ batchId: imp.id });
		expect(await finished(call, undo.id)).toMatchObject({ status: 'COMPLETED', totalCount: 1, successCount: 1 });
		const now = await contactsByPhone([kept, created]);
		expect([...now.keys()]).toEqual([kept]);
		expect(now.get(kept)).toMatchObject({ name: 'Eve', tags: ['e'], attributes: { a: '1' } });
	});

	it('refuses what cannot be undone as a whole, with a typed reason', async () => {
		const { call, user } = await userCaller('operator');
		const [running] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, created_by) values ('IMPORT', 'PROCESSING', ${user.id}) returning id`;
		expect(await refusal(call.batch.undo({ batchId: running.id }))).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'not_finished' });
		const [send] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, created_by) values ('SEND', 'COMPLETED', ${user.id}) returning id`;
		const r = await refusal(call.batch.undo({ batchId: send.id }));
		expect(r).toMatchObject({ code: 'PRECONDITION_FAILED', reason: 'wrong_type' });
		expect(r.message).toMatch(/only IMPORT and DELETE/);
		expect(await refusal(call.batch.undo({ batchId: '00000000-0000-4000-8000-000000000000' }))).toMatchObject({ code: 'NOT_FOUND' });

		// Over HTTP, as a client sees it: the status, the code and data.reason to branch on.
		const session = await createSession(user.id);
		const { res, body } = await httpCall('mutation', 'batch.undo', { batchId: send.id }, { cookie: session.token });
		expect(res.status).toBe(412);
		expect(body.error.json.data).toMatchObject({ code: 'PRECONDITION_FAILED', field: 'batchId', reason: 'wrong_type' });

		// Viewers read; they do not undo.
		const viewer = await userCaller('viewer');
		expect(await refusal(viewer.call.batch.undo({ batchId: send.id }))).toMatchObject({ code: 'FORBIDDEN' });
	});
});
