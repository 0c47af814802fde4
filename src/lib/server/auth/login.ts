import { and, eq, gt, inArray, sql as dsql } from 'drizzle-orm';
import { db } from '../db/client';
import { loginFailures } from '../db/schema';
import { DomainError } from '../errors';
import { dummyPasswordHash, verifyPassword } from './crypto';
import { createSession } from './sessions';
import { findUserByEmail } from './users';
import { env } from '../env';

function limits() {
	const { loginMaxFailures, loginWindowMinutes } = env().auth;
	return { max: loginMaxFailures, windowMinutes: loginWindowMinutes };
}

/**
 * Password login, throttled per account and per client address through a table,
 * so the limit holds across web processes. Returns a new session.
 */
export async function login(input: { email: string; password: string; ip: string; userAgent?: string | null }) {
	const email = input.email.trim().toLowerCase();
	const keys = [`acct:${email}`, `ip:${input.ip}`];
	const { max, windowMinutes } = limits();
	const counts = await db()
		.select({ key: loginFailures.key, n: dsql<number>`count(*)::int` })
		.from(loginFailures)
		.where(
			and(
				inArray(loginFailures.key, keys),
				gt(loginFailures.at, dsql`now() - make_interval(mins => ${windowMinutes})`)
			)
		)
		.groupBy(loginFailures.key);
	if (counts.some((c) => c.n >= max)) {
		throw new DomainError(
			'TOO_MANY_REQUESTS',
			`Too many failed sign-ins. Try again in ${windowMinutes} minutes.`
		);
	}
	const user = await findUserByEmail(email);
	const ok = user
		? await verifyPassword(user.passwordHash, input.password)
		: (await verifyPassword(await dummyPasswordHash(), input.password), false);
	if (!user || !ok) {
		await db().insert(loginFailures).values(keys.map((key) => ({ key })));
		throw new DomainError('UNAUTHORIZED', 'Wrong email or password.');
	}
	await db().delete(loginFailures).where(eq(loginFailures.key, keys[0]));
	const session = await createSession(user.id, { ip: input.ip, userAgent: input.userAgent });
	return { ...session, user: { id: user.id, email: user.email, role: user.role } };
}
