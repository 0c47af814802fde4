import { sql, type Executor } from '../db/client';
import { env } from '../env';

/**
 * The sign-in throttle's keys and limits. Three keys count each attempt:
 *
 * - the account from this address ("pair"): LOGIN_MAX_FAILURES attempts, then a back-off
 *   doubling from LOGIN_BACKOFF_SECONDS (capped at LOGIN_WINDOW_MINUTES). This is the one
 *   a guesser meets.
 * - the address over every account: LOGIN_ADDRESS_MAX_FAILURES, looser, against one
 *   address trying many accounts (credential stuffing).
 * - the account over every address: LOGIN_ACCOUNT_MAX_FAILURES, a ceiling well above the
 *   pair's, against guessing one account from many addresses.
 *
 * Why not one lock per account (what we had): anyone could keep anyone else out for 15
 * minutes with 10 wrong passwords. Per pair, an attacker's failures slow only that
 * attacker; the real user, from their own address, still signs in. The account-wide
 * ceiling can still slow the real user, but only an attacker with many addresses
 * (ceiling ÷ pair limit of them, 10 by default) reaches it, it is a back-off of seconds
 * growing with the attacker's own attempts rather than a fixed lock, and without it those
 * addresses would get pair-limit guesses each, unbounded in total.
 *
 * Every attempt is counted before its password is checked (a success undoes its count),
 * in one database call (login_attempt(), migration 0006): concurrent attempts cannot all
 * read the count before any writes it.
 */
export function throttleKeys(email: string, ip: string) {
	const a = env().auth;
	return {
		pair: { key: `pair:${email} ${ip}`, free: a.loginMaxFailures },
		address: { key: `ip:${ip}`, free: a.loginAddressMaxFailures },
		account: { key: `acct:${email}`, free: a.loginAccountMaxFailures }
	};
}

/** Counts an attempt when it may go ahead (returns 0), else returns the seconds to wait. */
export async function takeAttempt(keys: ReturnType<typeof throttleKeys>): Promise<number> {
	const a = env().auth;
	const all = [keys.pair, keys.address, keys.account];
	const [r] = await sql()<{ wait: number }[]>`
		select login_attempt(${all.map((k) => k.key)}::text[], ${all.map((k) => k.free)}::int[],
			${a.loginBackoffSeconds}::float8, ${a.loginWindowMinutes * 60}::float8) as wait`;
	return r.wait;
}

/**
 * After a right password: this address has proven it knows it, so its pair starts over;
 * the address and account keys only lose this attempt's count (a success must not give
 * an attacker with one valid account a fresh budget on the others, nor give attackers of
 * this account a fresh ceiling).
 */
export async function attemptSucceeded(keys: ReturnType<typeof throttleKeys>, ex: Executor = sql()) {
	await ex`
		with cleared as (delete from login_throttle where key = ${keys.pair.key})
		update login_throttle set failures = greatest(failures - 1, 0)
		where key in (${keys.address.key}, ${keys.account.key})`;
}
