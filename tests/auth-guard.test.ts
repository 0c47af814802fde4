/**
 * Walks every procedure of the app router, including ones added later, and checks an
 * anonymous caller is refused: only `health` and `auth.login` are public.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { appRouter } from '../src/lib/server/trpc/router';
import { caller } from './helpers';

const PUBLIC = new Set(['health', 'auth.login']);

type ProcDef = { _def: { type: 'query' | 'mutation' | 'subscription' } };

function procedures(): Array<[string, ProcDef]> {
	return Object.entries(appRouter._def.procedures as unknown as Record<string, ProcDef>);
}

function invoke(path: string) {
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	let target: any = caller();
	for (const part of path.split('.')) target = target[part];
	// Deliberately invalid input: auth must be checked before input is.
	return target(undefined);
}

describe('anonymous access', () => {
	it('finds a good number of procedures to check', () => {
		expect(procedures().length).toBeGreaterThanOrEqual(8);
	});

	for (const [path] of procedures()) {
		if (PUBLIC.has(path)) continue;
		it(`refuses ${path} with UNAUTHORIZED`, async () => {
			let error: unknown;
			try {
				const result = await invoke(path);
				// A subscription returns an async iterable; pulling from it runs the middleware.
				if (result && typeof result[Symbol.asyncIterator] === 'function') {
					await result[Symbol.asyncIterator]().next();
				}
			} catch (e) {
				error = e;
			}
			expect(error).toBeInstanceOf(TRPCError);
			expect((error as TRPCError).code).toBe('UNAUTHORIZED');
		});
	}

	it('serves health to anyone', async () => {
		const res = await caller().health();
		expect(res.ok).toBe(true);
		expect(res.database.ok).toBe(true);
	});
});
