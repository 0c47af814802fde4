import { hash, verify } from '@node-rs/argon2';
import { createHash, randomBytes } from 'node:crypto';

// argon2id (the library's default algorithm) with OWASP's minimum parameters.
const ARGON = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string) => hash(password, ARGON);

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
	try {
		return await verify(passwordHash, password);
	} catch {
		return false;
	}
}

/** A random secret with a readable prefix, e.g. "bd_sess_…" or "bd_tok_…". */
export function newSecret(prefix: string): string {
	return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Tokens are long random strings: a fast hash is enough, and lookups stay cheap. */
export function sha256(value: string): string {
	return createHash('sha256').update(value).digest('hex');
}

// A real hash to verify against when the account does not exist, so a login for an
// unknown email takes as long as one with a wrong password.
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash() {
	dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
	return dummyHash;
}
