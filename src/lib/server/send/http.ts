import { sql, transaction, type Tx } from '../db/client';
import { render } from '../templates/render';
import { channelFor } from '../channels/registry';
import { messageKey, type ChannelRow } from '../channels/types';
import { WORKER_PROCESS_ID } from '../jobs/recovery';
import { errorOutcome, recordOutcomes, sentOutcome, skippedOutcome } from './outcomes';
import { settleUnrecorded } from './recovery';
import { checkBreaker, haltOnAuthError } from './guards';
import { moveNextSendAt } from './sandbox';
import type { ItemOutcome, PacedStep, SliceResult } from './types';
import { env } from '../env';

/** Requests in flight at once per slice (SEND_HTTP_CONCURRENCY); the batch status is re-read before each group. */
const groupSize = () => env().send.httpConcurrency;

type Claimed = { id: number; contact_id: number | null; attempts: number };
type ContactRow = { id: number; phone: string; name: string | null; attributes: Record<string, unknown>; opted_out: boolean };

/**
 * A slice for a provider reached over HTTP: claim items (status `sending`, with this
 * process as claimant) in a short transaction, call the provider with no
 * transaction open, then record every outcome and the counters in one transaction.
 * A worker dying in between leaves `sending` items that recovery resolves.
 */
export async function httpSlice(
	batchId: string,
	channelRow: ChannelRow,
	body: string,
	limit: number,
	opts: { paced?: PacedStep; stopping: () => boolean }
): Promise<SliceResult> {
	const channel = channelFor(channelRow);
	const claim = await transaction(async (tx) => {
		const [b] = await tx<{ status: string; due: boolean }[]>`
			select status, (next_send_at is null or next_send_at <= clock_timestamp()) as due
			from batch_operations where id = ${batchId} ${opts.paced ? tx`for no key update` : tx`for key share`}`;
		if (!b || b.status !== 'PROCESSING') return 'stopped' as const;
		if (opts.paced && !b.due) return 'early' as const;
		const rows = await tx<Claimed[]>`
			with picked as (
				select id from batch_items
				where batch_id = ${batchId} and status = 'pending' and (not_before is null or not_before <= now())
				order by id limit ${limit} for update skip locked)
			update batch_items i set status = 'sending', attempts = i.attempts + 1, claimed_by = ${WORKER_PROCESS_ID},
				claimed_at = now(), updated_at = now()
			from picked where i.id = picked.id
			returning i.id::int as id, i.contact_id::int as contact_id, i.attempts`;
		const nextDueMs = opts.paced && rows.length ? await moveNextSendAt(tx, batchId, opts.paced) : null;
		return Object.assign([...rows], { nextDueMs });
	});
	if (claim === 'stopped') return { claimed: 0, stopped: true };
	if (claim === 'early') return { claimed: 0, stopped: false, early: true };
	if (claim.length === 0) return { claimed: 0, stopped: false };

	const contactIds = claim.map((c) => c.contact_id).filter((x): x is number => x !== null);
	const contacts = new Map(
		(
			await sql()<ContactRow[]>`select id::int as id, phone_e164 as phone, name, attributes, opted_out_at is not null as opted_out
				from contacts where id = any(${contactIds}::bigint[])`
		).map((c) => [c.id, c])
	);
	const outcomes: ItemOutcome[] = [];
	const toSend: { item: Claimed; contact: ContactRow }[] = [];
	for (const item of claim) {
		const c = item.contact_id === null ? undefined : contacts.get(item.contact_id);
		if (!c) outcomes.push(skippedOutcome(item.id, 'contact_deleted'));
		else if (c.opted_out) outcomes.push(skippedOutcome(item.id, 'opted_out'));
		else toSend.push({ item, contact: c });
	}

	let released: number[] = [];
	for (let i = 0, step = groupSize(); i < toSend.length; i += step) {
		// The claim checked the status for the first group; later groups re-check, so
		// a cancel or pause that committed meanwhile stops new sends here.
		if (i > 0 && (opts.stopping() || !(await stillProcessing(batchId)))) {
			released = toSend.slice(i).map((s) => s.item.id);
			break;
		}
		const group = toSend.slice(i, i + step);
		await Promise.all(
			group.map(async ({ item, contact }) => {
				try {
					const fields = { name: contact.name, phone: contact.phone, attributes: contact.attributes };
					const text = render(body, fields).text;
					const id = await channel.send({ to: contact.phone, body: text, idempotencyKey: messageKey(batchId, item.id), contact: fields });
					outcomes.push(sentOutcome(item.id, id));
				} catch (e) {
					outcomes.push(errorOutcome(item.id, item.attempts, e, channel.capabilities));
					// Refused credentials pause the channel's batches now: the next group's status check stops this slice.
					await haltOnAuthError(channelRow, e);
				}
			})
		);
	}
	let delta;
	try {
		delta = await transaction(async (tx) => {
			if (released.length) await releaseClaimed(tx, batchId, released);
			return recordOutcomes(tx, batchId, outcomes, false);
		});
	} catch (e) {
		// Outcomes could not be written (database trouble): settle the claims as a dead
		// worker's would be, so they are neither stuck in `sending` nor re-sent blindly.
		await resolveUnrecorded(claim.map((c) => c.id)).catch(() => {});
		throw e;
	}
	await checkBreaker(batchId, delta, outcomes);
	return { claimed: claim.length - released.length, stopped: released.length > 0, delta, nextDueMs: claim.nextDueMs };
}

async function stillProcessing(batchId: string): Promise<boolean> {
	const [b] = await sql()<{ status: string }[]>`select status from batch_operations where id = ${batchId}`;
	return b?.status === 'PROCESSING';
}

/** Claimed but never sent: back to pending (or cancelled, if the batch was cancelled meanwhile). */
export async function releaseClaimed(tx: Tx, batchId: string, ids: number[]) {
	await tx`update batch_items set
			status = case when (select status from batch_operations where id = ${batchId}) = 'CANCELLED' then 'cancelled' else 'pending' end,
			attempts = greatest(attempts - 1, 0), claimed_by = null, claimed_at = null, updated_at = now()
		where id = any(${ids}::bigint[]) and status = 'sending'`;
}

/** This slice's claims whose outcomes could not be written: settled as a dead worker's are. */
async function resolveUnrecorded(ids: number[]) {
	await transaction((tx) =>
		settleUnrecorded(tx, tx`i.id = any(${ids}::bigint[])`, {
			code: 'outcome_not_recorded',
			message: 'The outcome of the send could not be recorded: the provider may or may not have it'
		})
	);
}
