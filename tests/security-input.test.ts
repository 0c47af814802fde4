/**
 * Input that PostgreSQL cannot store, and errors that used to carry SQL to the client,
 * through the real HTTP path. Each of the 13 calls of issue 12 answered 500 with the
 * statement and its parameters in error.message (a token hash for tokens.create).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../src/lib/server/auth/sessions';
import { sql } from '../src/lib/server/db/client';
import { userCaller } from './helpers';
import superjson from 'superjson';
import { BASE, call, trpcRequest } from './http-inprocess';

let cookie: string;
let contactId: number;

beforeAll(async () => {
	const { user } = await userCaller('admin');
	cookie = (await createSession(user.id)).token;
	const [c] = await sql()<{ id: number }[]>`insert into contacts (phone_e164, name) values ('+8613800000201', 'Ann') returning id::int as id`;
	contactId = c.id;
});

const NUL = 'a\u0000b';
const SURROGATE = 'a\ud800b';
const FAR_DATE = '+275760-09-13T00:00:00.000Z';
/** What a raw database error's message looks like: never in an answer. */
const SQLISH = /\b(select|insert|update|delete)\b.*\b(from|into|set|where)\b|\$\d|invalid byte sequence|unsupported Unicode|out of range|sha256|token_hash/i;

type Case = [name: string, kind: 'mutation' | 'query', path: string, input: (bad: string) => unknown];

const TEXT_CASES: Case[] = [
	['batch.send content', 'mutation', 'batch.send', (x) => ({ contactIds: [contactId], content: x })],
	['batch.send filter.search', 'mutation', 'batch.send', (x) => ({ filter: { search: x }, content: 'hi' })],
	['batch.send filter.tags', 'mutation', 'batch.send', (x) => ({ filter: { tags: [x] }, content: 'hi' })],
	['batch.send idempotencyKey', 'mutation', 'batch.send', (x) => ({ contactIds: [contactId], content: 'hi', idempotencyKey: x })],
	['batch.import source', 'mutation', 'batch.import', (x) => ({ contacts: [{ phoneE164: '+8613800000202' }], source: x })],
	['batch.tags', 'mutation', 'batch.tags', (x) => ({ contactIds: [contactId], tags: [x], operation: 'add' })],
	['batch.delete filter', 'mutation', 'batch.delete', (x) => ({ filter: { search: x } })],
	['contacts.update', 'mutation', 'contacts.update', (x) => ({ id: contactId, name: x })],
	['contacts.update attribute key', 'mutation', 'contacts.update', (x) => ({ id: contactId, attributes: { [x]: 'v' } })],
	['templates.create', 'mutation', 'templates.create', (x) => ({ name: x, body: 'hi' })],
	['channels.create', 'mutation', 'channels.create', (x) => ({ id: 'nulchan', name: x, kind: 'sandbox' })],
	['tokens.create', 'mutation', 'tokens.create', (x) => ({ name: x })]
];

const DATE_CASES: Case[] = [
	['batch.send scheduleAt', 'mutation', 'batch.send', (d) => ({ contactIds: [contactId], content: 'hi', scheduleAt: d })],
	['batch.stats createdAfter', 'query', 'batch.stats', (d) => ({ createdAfter: d })],
	['batch.stats createdBefore', 'query', 'batch.stats', (d) => ({ createdBefore: d })]
];

let fieldErrors = 0;
afterAll(() => console.log(`unstorable input (NUL, lone surrogate, year 275760) in ${TEXT_CASES.length + DATE_CASES.length} fields: ${fieldErrors} calls, ${fieldErrors} field errors (400), none 500`));

async function expectFieldError(kind: 'mutation' | 'query', path: string, input: unknown, what: string) {
	const { res, body } = await call(kind, path, input, { cookie });
	const error = body.error?.json;
	expect(res.status, `${what}: ${JSON.stringify(error?.message)}`).toBe(400);
	expect(error.data.code, what).toBe('BAD_REQUEST');
	const fields = error.data.zodError?.fieldErrors ?? {};
	expect(Object.keys(fields).length, `${what}: a field error`).toBeGreaterThan(0);
	expect(JSON.stringify(error), what).not.toMatch(SQLISH);
	fieldErrors++;
	return error;
}

describe('text PostgreSQL cannot store', () => {
	it.each(TEXT_CASES)('%s: NUL and a lone surrogate are field errors (400), not 500', async (name, kind, path, input) => {
		for (const bad of [NUL, SURROGATE]) await expectFieldError(kind, path, input(bad), `${name} ${JSON.stringify(bad)}`);
	});
});

describe('dates PostgreSQL cannot parse', () => {
	it.each(DATE_CASES)('%s: year 275760 is a field error (400), as a string and as a Date', async (name, kind, path, input) => {
		await expectFieldError(kind, path, input(FAR_DATE), `${name} string`);
		await expectFieldError(kind, path, input(new Date(FAR_DATE) as never), `${name} Date`);
	});

	it('scheduleAt: null means "now", not 1970 refused as in the past', async () => {
		const { res, body } = await call('mutation', 'batch.send', { contactIds: [contactId], content: 'hi', scheduleAt: null }, { cookie });
		expect(res.status, JSON.stringify(body.error?.json?.message)).toBe(200);
		expect(body.result.data.json.scheduledAt).toBeNull();
		expect(body.result.data.json.status).not.toBe('SCHEDULED');
	});
});

describe('internal errors', () => {
	it('answer a generic message with a reference, never the statement and its parameters', async () => {
		// A database error no input check can prevent: the table is gone for a moment.
		await sql()`alter table api_tokens rename to api_tokens_away`;
		try {
			const { res, body } = await call('mutation', 'tokens.create', { name: 'ci' }, { cookie });
			expect(res.status).toBe(500);
			const message: string = body.error.json.message;
			console.log(`internal error answered as: ${JSON.stringify(message)}`);
			expect(message).toMatch(/^Internal error \(ref [0-9a-f]{12}\)/);
			expect(JSON.stringify(body)).not.toMatch(/api_tokens|insert|\$\d|bd_tok_/i);
		} finally {
			await sql()`alter table api_tokens_away rename to api_tokens`;
		}
	});
});

describe('work a viewer or operator can ask for is bounded', () => {
	it('list offsets, attribute keys per contact and template variables are field errors past their bounds', async () => {
		const attributes = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
		const body = Array.from({ length: 21 }, (_, i) => `{{v${i}}}`).join(' ');
		const cases: [string, 'mutation' | 'query', string, unknown][] = [
			['contacts.list offset', 'query', 'contacts.list', { offset: 10_000_000 }],
			['batch.list offset', 'query', 'batch.list', { offset: 10_000_000 }],
			['batch.items offset', 'query', 'batch.items', { batchId: '00000000-0000-4000-8000-000000000000', offset: 1e12 }],
			['batch.importRows offset', 'query', 'batch.importRows', { batchId: '00000000-0000-4000-8000-000000000000', offset: 1e12 }],
			['outbox.list offset', 'query', 'outbox.list', { offset: 1e12 }],
			['contacts.update 101 attributes', 'mutation', 'contacts.update', { id: contactId, attributes }],
			['templates.preview 21 variables', 'query', 'templates.preview', { body }],
			['templates.create 21 variables', 'mutation', 'templates.create', { name: 'wide', body }]
		];
		for (const [name, kind, path, input] of cases) await expectFieldError(kind, path, input, name);
	});
});

describe('every procedure, inside a batch', () => {
	it('answers junk input with a 4xx, never a 500 or SQL; auth.login refuses to be batched', async () => {
		const { appRouter } = await import('../src/lib/server/trpc/router');
		const procedures = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures)
			.filter(([path, p]) => p._def.type !== 'subscription' && path !== 'auth.logout')
			.map(([path, p]) => [path, p._def.type] as const);
		const junk: unknown[] = [undefined, {}, { id: NUL, batchId: SURROGATE, name: NUL, filter: { search: SURROGATE } }, [1, 2], 'x'.repeat(10_000)];
		let calls = 0;
		for (const [path, type] of procedures) {
			// A partner in the same batch: batches hold one kind (GET queries, POST mutations).
			const partner = type === 'query' ? ['health', undefined] : ['templates.delete', { id: 999_999_999 }];
			for (const input of junk) {
				const encoded = { 0: superjson.serialize(partner[1]), 1: superjson.serialize(input) };
				const url = `${BASE}/api/trpc/${partner[0]},${path}?batch=1`;
				const { body } = await trpcRequest(
					type === 'query' ? `${url}&input=${encodeURIComponent(JSON.stringify(encoded))}` : url,
					type === 'query' ? { cookie } : { cookie, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encoded) }
				);
				const answer = body[1];
				const what = `${path} ${JSON.stringify(input)?.slice(0, 40)}`;
				if (answer.error) {
					expect(answer.error.json.data.httpStatus, `${what}: ${answer.error.json.message}`).toBeLessThan(500);
					expect(JSON.stringify(answer.error), what).not.toMatch(SQLISH);
				}
				if (path === 'auth.login') expect(answer.error?.json.message, what).toMatch(/cannot be batched/);
				calls++;
			}
		}
		console.log(`${procedures.length} procedures × ${junk.length} junk inputs inside a batch: ${calls} calls, none answered 500`);
	});
});
