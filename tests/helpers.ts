import { createCallerFactory } from '../src/lib/server/trpc/init';
import { appRouter } from '../src/lib/server/trpc/router';
import { anonymousContext, type Context } from '../src/lib/server/trpc/context';
import { createUser } from '../src/lib/server/auth/users';
import type { Role } from '../src/lib/server/db/schema';
import type { AuthUser } from '../src/lib/server/auth/types';
import { randomBytes } from 'node:crypto';
import { pollUntil } from '../scripts/lib/poll';

const factory = createCallerFactory(appRouter);

export function caller(ctx: Partial<Context> = {}) {
	return factory(anonymousContext(ctx));
}

/** A new user of the given role and a caller acting as them. */
export async function userCaller(role: Role = 'admin') {
	const email = `${role}-${randomBytes(4).toString('hex')}@test.local`;
	const row = await createUser({ email, password: 'correct horse battery', role });
	const user: AuthUser = { id: row.id, email: row.email, role: row.role, via: 'session' };
	return { user, call: caller({ user }) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value or the time runs out. */
export function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 50): Promise<NonNullable<T>> {
	return pollUntil(fn, {
		timeoutMs,
		everyMs,
		fail: (last) => new Error(`waitFor timed out${last instanceof Error ? `: ${String(last)}` : ''}`)
	});
}
