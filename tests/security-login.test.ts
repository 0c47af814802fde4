/**
 * The sign-in throttle (auth/throttle.ts): per account and address, per address, per
 * account, with a back-off that grows; and never one lock an attacker can hold on
 * someone else. (The 100-guess attacks on the built app are in security-http.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { sql } from '../src/lib/server/db/client';
import { createUser } from '../src/lib/server/auth/users';
import { resetEnvCache } from '../src/lib/server/env';
import { caller } from './helpers';

const PASSWORD = 'correct horse battery';
const SETTINGS = ['LOGIN_MAX_FAILURES', 'LOGIN_ADDRESS_MAX_FAILURES', 'LOGIN_ACCOUNT_MAX_FAILURES', 'LOGIN_BACKOFF_SECONDS'];
const saved = Object.fromEntries(SETTINGS.map((k) => [k, process.env[k]]));

function set(values: Record<string, string>) {
	Object.assign(process.env, values);
	resetEnvCache();
}

afterEach(() => {
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	resetEnvCache();
});

async function attempt(email: string, password: string, ip: string): Promise<{ code: string; message: string }> {
	try {
		await caller({ ip }).auth.login({ email, password });
		return { code: 'OK', message: '' };
	} catch (e) {
		if (e instanceof TRPCError) return { code: e.code, message: e.message };
		throw e;
	}
}
const codeOf = async (email: string, password: string, ip: string) => (await attempt(email, password, ip)).code;

async function newUser() {
	const email = `u-${Math.random().toString(36).slice(2, 8)}@throttle.test`;
	await createUser({ email, password: PASSWORD, role: 'operator' });
	return email;
}

describe('sign-in throttle', () => {
	it('refuses a wrong password or unknown account with UNAUTHORIZED, not a 500', async () => {
		const u = await newUser();
		expect(await codeOf(u, 'wrong password', '10.1.0.1')).toBe('UNAUTHORIZED');
		expect(await codeOf('nobody@throttle.test', PASSWORD, '10.1.0.2')).toBe('UNAUTHORIZED');
		expect(await codeOf(`  ${u.toUpperCase()} `, PASSWORD, '10.1.0.4')).toBe('OK');
	});

	it('slows the address that guesses, not the account owner elsewhere', async () => {
		set({ LOGIN_MAX_FAILURES: '3', LOGIN_BACKOFF_SECONDS: '600' });
		const u = await newUser();
		for (let i = 0; i < 3; i++) expect(await codeOf(u, `wrong ${i}`, '10.2.0.1')).toBe('UNAUTHORIZED');
		const refused = await attempt(u, PASSWORD, '10.2.0.1');
		expect(refused.code).toBe('TOO_MANY_REQUESTS');
		expect(refused.message).toMatch(/try again in 10 minutes/i);
		// The owner, from their own address, is not locked out by the attacker.
		expect(await codeOf(u, PASSWORD, '10.2.9.9')).toBe('OK');
	});

	it('grows the wait with each attempt after the limit (doubling)', async () => {
		set({ LOGIN_MAX_FAILURES: '2', LOGIN_BACKOFF_SECONDS: '30' });
		const u = await newUser();
		const ip = '10.5.0.1';
		const key = `pair:${u} ${ip}`;
		const waits: number[] = [];
		for (let i = 0; i < 6; i++) {
			expect(await codeOf(u, `wrong ${i}`, ip)).toBe('UNAUTHORIZED');
			const [r] = await sql()<{ wait: number }[]>`select round(extract(epoch from next_at - now()))::int as wait from login_throttle where key = ${key}`;
			waits.push(Math.max(0, r.wait));
			if (r.wait > 0) {
				// Within the wait even the right password is refused…
				expect(await codeOf(u, PASSWORD, ip)).toBe('TOO_MANY_REQUESTS');
				// …then the wait passes (moved back rather than slept through).
				await sql()`update login_throttle set next_at = now() where key = ${key}`;
			}
		}
		console.log(`wait after each wrong password from one address (limit 2, base 30 s): ${waits.join(', ')} s`);
		expect(waits).toEqual([0, 30, 60, 120, 240, 480]);
	});

	it('caps one address trying many accounts (credential stuffing)', async () => {
		set({ LOGIN_ADDRESS_MAX_FAILURES: '3', LOGIN_BACKOFF_SECONDS: '600' });
		const ip = '10.3.0.1';
		for (let i = 0; i < 3; i++) expect(await codeOf(`guess${i}@throttle.test`, 'wrong', ip)).toBe('UNAUTHORIZED');
		const u = await newUser();
		expect(await codeOf(u, PASSWORD, ip)).toBe('TOO_MANY_REQUESTS');
		expect(await codeOf(u, PASSWORD, '10.3.0.2')).toBe('OK');
	});

	it('has an account-wide ceiling for guesses from many addresses', async () => {
		set({ LOGIN_ACCOUNT_MAX_FAILURES: '4', LOGIN_BACKOFF_SECONDS: '600' });
		const u = await newUser();
		for (let i = 0; i < 4; i++) expect(await codeOf(u, 'wrong', `10.6.0.${i}`)).toBe('UNAUTHORIZED');
		expect(await codeOf(u, PASSWORD, '10.6.1.1')).toBe('TOO_MANY_REQUESTS');
		// Other accounts are unaffected.
		expect(await codeOf(await newUser(), PASSWORD, '10.6.1.2')).toBe('OK');
	});

	it('forgets an address’s failures on this account after a right password there', async () => {
		set({ LOGIN_MAX_FAILURES: '3', LOGIN_BACKOFF_SECONDS: '600' });
		const u = await newUser();
		const ip = '10.4.0.1';
		for (let i = 0; i < 2; i++) await codeOf(u, 'wrong', ip);
		expect(await codeOf(u, PASSWORD, ip)).toBe('OK');
		for (let i = 0; i < 2; i++) expect(await codeOf(u, 'wrong', ip)).toBe('UNAUTHORIZED');
		expect(await codeOf(u, PASSWORD, ip)).toBe('OK');
	});

	it('counts 50 parallel guesses exactly: 10 checked, 40 throttled', async () => {
		set({ LOGIN_BACKOFF_SECONDS: '600' });
		const u = await newUser();
		const codes = await Promise.all(Array.from({ length: 50 }, (_, i) => codeOf(u, `guess ${i}`, '10.7.0.1')));
		const checked = codes.filter((c) => c === 'UNAUTHORIZED').length;
		console.log(`50 parallel guesses in process: ${checked} checked, ${codes.length - checked} throttled`);
		expect(checked).toBe(10);
		expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS').length).toBe(40);
	});
});
