import { DomainError } from '../errors';
import { dummyPasswordHash, verifyPassword } from './crypto';
import { createSession } from './sessions';
import { findUserByEmail } from './users';
import { attemptSucceeded, takeAttempt, throttleKeys } from './throttle';
import { sql, transaction } from '../db/client';
import { audit } from '../audit/record';

/**
 * Password login, throttled per account and address (auth/throttle.ts says how) in the
 * database, so the limit holds across web processes and concurrent requests. Returns a
 * new session. The session and its audit entry commit together; a refused password is
 * recorded on its own (the throttle statement already committed its count), with the
 * email tried.
 */
export async function login(input: { email: string; password: string; ip: string; userAgent?: string | null }) {
	const email = input.email.trim().toLowerCase();
	const keys = throttleKeys(email, input.ip);
	const wait = await takeAttempt(keys);
	if (wait > 0) {
		// Not recorded: a refusal here checks no password, and an address kept out could
		// otherwise grow the append-only log without bound. The wrong passwords that led
		// here are each recorded.
		throw new DomainError('TOO_MANY_REQUESTS', `Too many failed sign-ins. Try again in ${waitText(wait)}.`);
	}
	const user = await findUserByEmail(email);
	const ok = user
		? await verifyPassword(user.passwordHash, input.password)
		: (await verifyPassword(await dummyPasswordHash(), input.password), false);
	// A failure is already counted (takeAttempt counts before the check).
	if (!user || !ok) {
		await loginFailed(input.ip, email, user?.id ?? null, 'wrong_email_or_password');
		throw new DomainError('UNAUTHORIZED', 'Wrong email or password.');
	}
	await attemptSucceeded(keys);
	const actor = { id: user.id, email: user.email, role: user.role, via: 'session' as const };
	const session = await transaction(async (tx) => {
		const s = await createSession(user.id, { ip: input.ip, userAgent: input.userAgent }, tx);
		await audit(tx, { user: actor, ip: input.ip }, 'auth.login', { type: 'user', id: user.id }, { email: user.email, ok: true });
		return s;
	}).catch(async (e) => {
		if (e instanceof DomainError && e.code === 'UNAUTHORIZED') await loginFailed(input.ip, email, user.id, 'account_disabled');
		throw e;
	});
	return { ...session, user: { id: user.id, email: user.email, role: user.role } };
}

/** A refused sign-in: nobody is signed in, so the entry has no actor; the email tried is in its details. */
function loginFailed(ip: string, email: string, userId: number | null, reason: string) {
	return audit(sql(), { user: null, ip }, 'auth.login', userId ? { type: 'user', id: userId } : null, { email: email.slice(0, 320), ok: false, reason });
}

function waitText(seconds: number): string {
	const s = Math.ceil(seconds);
	if (s < 120) return `${s} second${s === 1 ? '' : 's'}`;
	return `${Math.ceil(s / 60)} minutes`;
}
