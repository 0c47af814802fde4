/**
 * What the worker-side chaos scenarios (a–d) share: a PostgreSQL and database of their
 * own, a user to create batches as, and the checks they make on what a provider received.
 */
import { migratedDatabase, startPostgres, useDatabase, type ChaosPostgres } from './lib';
import { createUser } from '../src/lib/server/auth/users';
import { createSendBatch } from '../src/lib/server/send/create';
import type { SendInput } from '../src/lib/schemas/send';
import type { RecordedRequest } from '../tests/fake-provider';
import { randomBytes } from 'node:crypto';

export type Stage = { pg: ChaosPostgres; databaseUrl: string; userId: number };

/** A fresh server and migrated database, this process's pool pointed at it. */
export async function stage(name: string): Promise<Stage> {
	const pg = await startPostgres();
	const databaseUrl = await migratedDatabase(pg, name);
	await useDatabase(databaseUrl);
	const user = await createUser({ email: `chaos-${randomBytes(4).toString('hex')}@chaos.local`, password: 'correct horse battery', role: 'operator' });
	return { pg, databaseUrl, userId: user.id };
}

export async function send(s: Stage, input: SendInput): Promise<string> {
	const created = await createSendBatch(input, s.userId);
	return created.batch.id;
}

/** Phones that reached the provider under more than one idempotency key (must be none). */
export function phonesUnderTwoKeys(requests: RecordedRequest[]): number {
	const keys = new Map<string, Set<string>>();
	for (const r of requests) {
		let to: string;
		try {
			to = (JSON.parse(r.body) as { to: string }).to;
		} catch {
			continue;
		}
		const set = keys.get(to) ?? new Set<string>();
		set.add(r.idempotencyKey ?? '');
		keys.set(to, set);
	}
	return [...keys.values()].filter((k) => k.size > 1).length;
}

/** The most requests the provider saw in any sliding second. */
export function maxPerSecond(times: number[]): number {
	const t = [...times].sort((a, b) => a - b);
	let best = 0;
	let lo = 0;
	for (let hi = 0; hi < t.length; hi++) {
		while (t[hi] - t[lo] >= 1000) lo++;
		best = Math.max(best, hi - lo + 1);
	}
	return best;
}

/** A small seeded random source (mulberry32), so a failing run can be replayed. */
export function seeded(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
