/**
 * d. Cancel / pause / resume / crash races as model-based property tests (fast-check
 * commands, ≥ 200 runs): each run sends a small webhook batch through a real worker
 * while a random sequence of pause, resume, cancel, short waits and "presumed dead"
 * (another process releases this worker's claims while it still sends, what a crash
 * judged by a heartbeat does) runs against it. After each run: exactly one terminal
 * state that then stays; the counters add up and agree with the items; no recipient
 * left pending or sending; no recipient whose send was cancelled reached the provider,
 * and nothing reached it after the cancel committed (beyond sends already in flight).
 */
import fc from 'fast-check';
import { defineScenario, invariants, round, sleep, startFakeProvider, waitFor } from '../lib';
import { createChannel, seedContacts, sql } from '../lib/db';
import { send, stage } from '../worker-faults';
import { cancelBatch, pauseBatch, resumeBatch } from '../../src/lib/server/batches/control';
import { transaction } from '../../src/lib/server/db/client';
import { releaseDeadClaims } from '../../src/lib/server/send/recovery';
import { WORKER_PROCESS_ID } from '../../src/lib/server/jobs/recovery';
import { resetEnvCache } from '../../src/lib/server/env';
import { startWorker } from '../../worker/index';
import type { RecordedRequest } from '../../tests/fake-provider';

const RUNS = Number(process.env.CHAOS_D_RUNS ?? 200);
const TERMINAL = ['COMPLETED', 'CANCELLED', 'FAILED'];

type Model = { cancelledAt: number | null; paused: boolean; ended: boolean };
type Real = { batchId: string };
type Cmd = fc.AsyncCommand<Model, Real>;

async function status(batchId: string): Promise<string> {
	const [r] = await sql()<{ status: string }[]>`select status from batch_operations where id = ${batchId}`;
	return r.status;
}

/** A control call the batch's state may refuse (PRECONDITION_FAILED); anything else is a failure. */
async function tolerate(fn: () => Promise<unknown>): Promise<boolean> {
	try {
		await fn();
		return true;
	} catch (e) {
		if ((e as { code?: string }).code === 'PRECONDITION_FAILED') return false;
		throw e;
	}
}

class Pause implements Cmd {
	check = (m: Readonly<Model>) => !m.ended;
	async run(m: Model, r: Real) {
		if (await tolerate(() => pauseBatch(r.batchId))) {
			m.paused = true;
			const s = await status(r.batchId);
			if (s !== 'PAUSED') throw new Error(`paused, then ${s}`);
		}
	}
	toString = () => 'pause';
}
class Resume implements Cmd {
	check = (m: Readonly<Model>) => !m.ended;
	async run(m: Model, r: Real) {
		if (await tolerate(() => resumeBatch(r.batchId))) m.paused = false;
	}
	toString = () => 'resume';
}
class Cancel implements Cmd {
	check = (m: Readonly<Model>) => !m.ended;
	async run(m: Model, r: Real) {
		if (await tolerate(() => cancelBatch(r.batchId))) {
			m.cancelledAt = Date.now();
			m.ended = true;
			const s = await status(r.batchId);
			if (s !== 'CANCELLED') throw new Error(`cancelled, then ${s}`);
		}
	}
	toString = () => 'cancel';
}
class Wait implements Cmd {
	constructor(readonly ms: number) {}
	check = () => true;
	async run() {
		await sleep(this.ms);
	}
	toString = () => `wait ${this.ms}`;
}
/** Releases of this worker's claims that found something in flight to take away. */
let releasesWhileSending = 0;
let presumedDeadRuns = 0;
class PresumedDead implements Cmd {
	check = () => true;
	async run() {
		presumedDeadRuns++;
		const [{ n }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_items where status = 'sending' and claimed_by = ${WORKER_PROCESS_ID}`;
		if (n > 0) releasesWhileSending++;
		let after: (() => Promise<void>) | void = undefined;
		await transaction(async (tx) => {
			after = await releaseDeadClaims(tx, [WORKER_PROCESS_ID]);
		});
		await (after as (() => Promise<void>) | undefined)?.();
	}
	toString = () => 'presumed-dead';
}

export default defineScenario({
	name: `cancel / pause / resume / presumed-dead races, fast-check model-based, ${RUNS} runs`,
	async run() {
		const inv = invariants();
		Object.assign(process.env, { SEND_RETRY_BASE_MS: '50', LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
		resetEnvCache();
		const s = await stage('chaos_d');
		const fake = await startFakeProvider(() => ({ kind: 'delay', ms: 15 }));
		const worker = await startWorker({ concurrency: 4 });
		const stats = { runs: 0, cancelled: 0, completed: 0, failed: 0, commands: 0, presumedDead: 0, lateAfterCancelMsMax: 0 };
		let failure: string | undefined;
		try {
			await createChannel('hook', 'webhook', { url: fake.url, timeoutMs: 5_000 }, 2_000);
			const pool = await seedContacts(60, '+1844');
			const commands = fc.commands(
				[
					fc.constant(new Pause()),
					fc.constant(new Resume()),
					fc.constant(new Cancel()),
					fc.constant(new PresumedDead()),
					fc.integer({ min: 0, max: 120 }).map((ms) => new Wait(ms))
				],
				{ maxCommands: 8 }
			);
			const property = fc.asyncProperty(fc.integer({ min: 5, max: 60 }), commands, async (n, cmds) => {
				const batchId = await send(s, { contactIds: pool.slice(0, n), content: 'Hi {{name}}', channelId: 'hook' });
				const model: Model = { cancelledAt: null, paused: false, ended: false };
				const list = [...cmds];
				stats.runs++;
				stats.commands += list.length;
				await fc.asyncModelRun(() => ({ model, real: { batchId } }), cmds);
				// A paused batch is resumed so that it can end.
				if ((await status(batchId)) === 'PAUSED') await tolerate(() => resumeBatch(batchId));
				const end = await waitFor(`batch ${batchId} to end after ${list.join(', ')}`, async () => {
					const st = await status(batchId);
					const [{ busy }] = await sql()<{ busy: number }[]>`select count(*)::int as busy from batch_items where batch_id = ${batchId} and status = 'sending'`;
					return TERMINAL.includes(st) && busy === 0 ? st : null;
				}, 60_000, 20).catch(async (e) => {
					const items = await sql()`select status, claimed_by, attempts, not_before from batch_items where batch_id = ${batchId}`;
					const jobs = await sql()`select key, run_at, locked_by, attempts, last_error from graphile_worker._private_jobs where payload->>'batchId' = ${batchId}`;
					throw new Error(`${(e as Error).message}: ${await status(batchId)} items ${JSON.stringify(items)} jobs ${JSON.stringify(jobs)}`);
				});
				await sleep(150);
				const [b] = await sql()<
					{ status: string; total_count: number; processed_count: number; success_count: number; failed_count: number; skipped_count: number; unknown_count: number }[]
				>`select status, total_count, processed_count, success_count, failed_count, skipped_count, unknown_count from batch_operations where id = ${batchId}`;
				const rows = await sql()<{ status: string; n: number }[]>`select status, count(*)::int as n from batch_items where batch_id = ${batchId} group by 1`;
				const items = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
				const c = (k: string) => items[k] ?? 0;
				const what = `after [${list.join(', ')}] on ${n}: ${JSON.stringify(b)} ${JSON.stringify(items)}`;
				if (b.status !== end) throw new Error(`terminal state changed from ${end} to ${b.status} ${what}`);
				if (b.processed_count !== b.success_count + b.failed_count + b.skipped_count + b.unknown_count) throw new Error(`processed does not add up ${what}`);
				if (b.success_count !== c('sent') || b.failed_count !== c('failed') || b.unknown_count !== c('unknown') || b.skipped_count !== c('skipped'))
					throw new Error(`counters disagree with the items ${what}`);
				if (c('pending') + c('sending') > 0) throw new Error(`recipients left pending/sending ${what}`);
				if (b.processed_count + c('cancelled') !== b.total_count) throw new Error(`processed + cancelled ≠ total ${what}`);
				if (b.status === 'COMPLETED' && b.processed_count !== b.total_count) throw new Error(`completed short ${what}`);
				if (model.cancelledAt !== null && b.status !== 'CANCELLED') throw new Error(`cancel committed, batch ${b.status} ${what}`);
				// Nobody whose send was cancelled reached the provider; nothing new after the cancel.
				const reqs = fake.requests.filter((r: RecordedRequest) => r.idempotencyKey?.startsWith(`${batchId}:`));
				const cancelledIds = await sql()<{ key: string }[]>`select ${batchId}::text || ':' || id::text as key from batch_items where batch_id = ${batchId} and status = 'cancelled'`;
				const reached = new Set(reqs.map((r) => r.idempotencyKey));
				const cancelledButSent = cancelledIds.filter((k) => reached.has(k.key)).length;
				if (cancelledButSent > 0) throw new Error(`${cancelledButSent} cancelled recipients reached the provider ${what}`);
				if (model.cancelledAt !== null) {
					const late = Math.max(0, ...reqs.map((r) => r.at - model.cancelledAt!));
					stats.lateAfterCancelMsMax = Math.max(stats.lateAfterCancelMsMax, late);
					// A request in flight at the cancel arrives after it; one started after it would be one more recipient.
					if (late > 1_000) throw new Error(`a request reached the provider ${late} ms after the cancel committed ${what}`);
				}
				if (b.status === 'CANCELLED') stats.cancelled++;
				else if (b.status === 'COMPLETED') stats.completed++;
				else stats.failed++;
			});
			const out = await fc.check(property, { numRuns: RUNS, seed: Number(process.env.CHAOS_D_SEED ?? 0xd0d), endOnFailure: true });
			if (out.failed) failure = `${String((out.errorInstance as Error)?.message ?? out.errorInstance)} | ${fc.defaultReportMessage(out) ?? ''}`;
			inv.check(!out.failed, (failure ?? '').slice(0, 2_000));
			inv.check(out.numRuns >= Math.min(RUNS, 200) || out.failed, `only ${out.numRuns} runs`);
			return inv.result({ ...stats, presumedDead: presumedDeadRuns, releasesWhileSending, numRuns: out.numRuns, seed: out.seed, lateAfterCancelMsMax: round(stats.lateAfterCancelMsMax) });
		} finally {
			await worker.stop();
			await fake.close();
			await s.pg.stop();
		}
	}
});
