import { describe, expect, it } from 'vitest';
import { BATCH_STATUSES, type BatchStatus } from '../src/lib/server/db/schema';
import { canTransition, isTerminal, sourcesOf, TRANSITIONS } from '../src/lib/server/batches/transitions';
import { sql } from '../src/lib/server/db/client';
import { transitionBatch } from '../src/lib/server/batches/repository';

// The table as the product defines it; any change to transitions.ts must change this too.
const ALLOWED: Record<BatchStatus, BatchStatus[]> = {
	PENDING: ['PROCESSING', 'CANCELLED', 'FAILED'],
	PROCESSING: ['PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'],
	PAUSED: ['PROCESSING', 'CANCELLED'],
	COMPLETED: ['PROCESSING'], // retry-failed only, named explicitly
	FAILED: [],
	CANCELLED: []
};

describe('the batch transition table', () => {
	it('allows exactly the listed moves, for every pair of statuses', () => {
		for (const from of BATCH_STATUSES) {
			for (const to of BATCH_STATUSES) {
				expect(canTransition(from, to), `${from} → ${to}`).toBe(ALLOWED[from].includes(to));
			}
		}
		expect(Object.keys(TRANSITIONS).sort()).toEqual([...BATCH_STATUSES].sort());
	});

	it('never offers a terminal status as an implicit source', () => {
		for (const to of BATCH_STATUSES) for (const f of sourcesOf(to)) expect(isTerminal(f)).toBe(false);
		expect(sourcesOf('PROCESSING').sort()).toEqual(['PAUSED', 'PENDING']);
	});

	it('is enforced in SQL for every pair: a refused move changes nothing', async () => {
		for (const from of BATCH_STATUSES) {
			for (const to of BATCH_STATUSES) {
				if (from === to) continue;
				const [b] = await sql()<{ id: string }[]>`insert into batch_operations (type, status) values ('TAG', ${from}) returning id`;
				const explicit = from === 'COMPLETED' ? { from: [from] } : {};
				const allowedImplicitly = sourcesOf(to).includes(from);
				if (sourcesOf(to).length === 0 && !explicit.from) continue; // nothing can reach `to`: transitionBatch refuses outright
				let row = null;
				try {
					row = await transitionBatch(b.id, to, explicit);
				} catch {
					row = null;
				}
				const [after] = await sql()<{ status: string }[]>`select status from batch_operations where id = ${b.id}`;
				const ok = explicit.from ? canTransition(from, to) : allowedImplicitly;
				expect(after.status, `${from} → ${to}`).toBe(ok ? to : from);
				expect(row !== null, `${from} → ${to} result`).toBe(ok);
			}
		}
	});
});
