/**
 * The claims this worker process answers for, so that it can release the ones it lost.
 *
 * A claim statement can commit on the database and its reply be lost with the
 * connection (PostgreSQL killed between the commit and the reply). Those items are
 * `sending` under this process, which is alive, so no other process releases them,
 * and no lane of it has them: the batch waited for them forever (outage test, clean-
 * clone CI: 3 items left `sending`, the batch PROCESSING for good). Likewise an
 * outcome whose write and whose settling both failed. The heartbeat sweeps both
 * (sweepOwnClaims): a claim no lane holds, in a batch no claim of this process is in
 * progress for, was never sent and goes back to pending; an outcome left unwritten is
 * settled as a dead worker's would be (send/recovery.ts).
 */
import { transaction } from '../db/client';
import { WORKER_PROCESS_ID } from '../jobs/recovery';
import { releaseLostClaims, resumeBatches, settleOwnUnrecorded } from './recovery';

/** Items claimed by this process whose outcome is not written yet. */
const inHand = new Set<number>();
/** Of those, the ones whose outcome could not be written nor their claim settled. */
const unsettled = new Set<number>();
/** Claim statements in progress, per batch: their items may be claimed and not in hand yet. */
const claimingNow = new Map<string, number>();

/**
 * A claim lost this way is at least this old: beyond any reply in transit. The batches
 * with a claim in progress are left out too, so a reply still on its way is never
 * taken for a lost one (its lane would send an item put back to pending: a double send).
 */
const LOST_AFTER_SECONDS = 10;

/** Runs a claim statement for `batchId`; the items it returns are in hand before any is sent. */
export async function claiming<T extends { id: number | null }>(batchId: string, run: () => Promise<T[]>): Promise<T[]> {
	claimingNow.set(batchId, (claimingNow.get(batchId) ?? 0) + 1);
	try {
		const rows = await run();
		for (const r of rows) if (r.id !== null) inHand.add(r.id);
		return rows;
	} finally {
		const n = claimingNow.get(batchId)! - 1;
		if (n === 0) claimingNow.delete(batchId);
		else claimingNow.set(batchId, n);
	}
}

/** Their outcomes are written (or their claims settled): no longer this process's to answer for. */
export function released(ids: Iterable<number>) {
	for (const id of ids) {
		inHand.delete(id);
		unsettled.delete(id);
	}
}

/** Their outcomes could not be written, nor their claims settled: the next sweep settles them. */
export function unrecorded(ids: Iterable<number>) {
	for (const id of ids) unsettled.add(id);
}

/**
 * The job runner stopped: no lane of this process runs any more, so every claim it
 * holds is settled now. Those in hand were sent and their outcomes not written
 * (settled as a dead worker's); the others never left (back to pending, at any age).
 */
export async function settleAllClaims() {
	unrecorded(inHand);
	await sweepOwnClaims(0);
}

/** Settles what this process left unwritten and releases the claims whose reply it lost (see above). */
export async function sweepOwnClaims(lostAfterSeconds = LOST_AFTER_SECONDS) {
	if (unsettled.size > 0) {
		const ids = [...unsettled];
		const after = await transaction(async (tx) => resumeBatches(tx, await settleOwnUnrecorded(tx, WORKER_PROCESS_ID, ids)));
		released(ids);
		await after?.();
	}
	const after = await transaction((tx) =>
		releaseLostClaims(tx, WORKER_PROCESS_ID, { itemIds: [...inHand], busyBatchIds: [...claimingNow.keys()] }, lostAfterSeconds)
	);
	await after?.();
}
