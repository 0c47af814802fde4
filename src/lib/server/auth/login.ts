import { DomainError } from '../errors';
import { dummyPasswordHash, verifyPassword } from './crypto';
import { createSession } from './sessions';
import { findUserByEmail } from './users';
import { attemptSucceeded, takeAttempt, throttleKeys } from './throttle';

/**
 * Password login, throttled per account and address (auth/throttle.ts says how) in the
 * database, so the limit holds across web processes and concurrent requests. Returns a
 * new session.
 */
export async function login(input: { email: string; password: string; ip: string; userAgent?: string | null }) {
	const email = input.email.trim().toLowerCase();
	const keys = throttleKeys(email, input.ip);
	const wait = await takeAttempt(keys);
	if (wait > 0) {
		throw new DomainError('TOO_MANY_REQUESTS', `Too many failed sign-ins. Try again in ${waitText(wait)}.`);
	}
	const user = await findUserByEmail(email);
	const ok = user
		? await verifyPassword(user.passwordHash, input.password)
		: (await verifyPassword(await dummyPasswordHash(), input.password), false);
	// A failure is already counted (takeAttempt counts before the check).
	if (!user || !ok) throw new DomainError('UNAUTHORIZED', 'Wrong email or password.');
	await attemptSucceeded(keys);
	const session = await createSession(user.id, { ip: input.ip, userAgent: input.userAgent });
	return { ...session, user: { id: user.id, email: user.email, role: user.role } };
}

function waitText(seconds: number): string {
	const s = Math.ceil(seconds);
	if (s < 120) return `${s} second${s === 1 ? '' : 's'}`;
	return `${Math.ceil(s / 60)} minutes`;
}
