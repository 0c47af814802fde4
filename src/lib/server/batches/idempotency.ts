import { createHash } from 'node:crypto';
import type { Tx } from '../db/client';
import { conflict } from '../errors';
import { findBatch, type BatchRow } from './repository';

/**
 * Idempotency keys of batch.import, batch.tags, batch.delete and the CSV upload, the
 * same rule as batch.send (send/create.ts): a key names one submission of a form or one
 * call of a script; sent again (a double click, a proxy's retry, a client's retry after
 * a timeout) with the same input within 24 h it returns the batch the first one created,
 * with another input it is a CONFLICT. Keys are per user, across batch types (one unique
 * index on created_by + idempotency_key), and share send's lock so the two cannot race.
 */
const WINDOW_HOURS = 24;

function stable(v: unknown): unknown {
	if (Array.isArray(v)) return v.map(stable);
	if (v instanceof Date) return v.toISOString();
	if (v && typeof v === 'object') {
		return Object.fromEntries(
			Object.keys(v)
				.sort()
				.map((k) => [k, stable((v as Record<string, unknown>)[k])])
		);
	}
	return v;
}

/** A digest of what was asked (the batch type and its input, the key left out). */
export function requestHash(type: string, input: unknown): string {
	return createHash('sha256').update(type).update('\0').update(JSON.stringify(stable(input))).digest('hex');
}

/**
 * Inside the creating transaction, before anything is written: the batch this key
 * already created (same input), null when the key is new, or a CONFLICT. Two requests
 * with one key at once: the second waits on the lock until the first commits, then finds it.
 */
export async function batchForKey(tx: Tx, userId: number | null, key: string, hash: string, field = 'idempotencyKey'): Promise<BatchRow | null> {
	await tx`select pg_advisory_xact_lock(hashtext(${`send-idem:${userId}:${key}`}))`;
	const [prev] = await tx<{ id: string; hash: string | null; fresh: boolean }[]>`
		select id, idempotency_hash as hash, created_at > now() - make_interval(hours => ${WINDOW_HOURS}) as fresh
		from batch_operations
		where created_by is not distinct from ${userId} and idempotency_key = ${key}`;
	if (!prev) return null;
	if (!prev.fresh) {
		// Outside the window the key is free again; the old batch keeps its history.
		await tx`update batch_operations set idempotency_key = null where id = ${prev.id}`;
		return null;
	}
	if (prev.hash !== hash) throw conflict('This idempotency key was used for a different request within 24 hours.', field);
	return (await findBatch(prev.id, tx)) ?? null;
}

/** Records the key on the batch just created, in the same transaction. */
export async function recordKey(tx: Tx, batchId: string, key: string, hash: string) {
	await tx`update batch_operations set idempotency_key = ${key}, idempotency_hash = ${hash} where id = ${batchId}`;
}
