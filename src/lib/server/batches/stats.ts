import type postgres from 'postgres';
import { sql } from '../db/client';
import { BATCH_STATUSES, BATCH_TYPES, type BatchStatus, type BatchType } from '../db/schema';
import type { BatchStatsInput } from '../../schemas/bulk';

export type DayStats = { date: string; total: number; processed: number; success: number; failed: number; byType: Record<BatchType, number> };

/**
 * batch.stats in the seed's shape plus a per-day series (UTC days) for charts. Two
 * grouped aggregates over the filtered rows; a created_at range uses the created_at
 * index, type/status filters their composite indexes.
 * successRate = totalSuccess / (totalProcessed − totalSkipped) in percent, one decimal (0 when
 * nothing was attempted): a skip (opted out, unchanged row) is neither a success nor a
 * failure, so a send where every attempt succeeded is 100% whatever it skipped.
 * completedOutcomes splits the COMPLETED batches as lib/batch-kinds.ts outcomeOf does:
 * `failed` (nothing succeeded, something failed: a send that reached nobody), `partial`, `ok`.
 * totalDelivered / totalRead / totalUndelivered sum the batches' delivery receipts.
 */
export async function batchStats(input: BatchStatsInput) {
	const ex = sql();
	// Only the filters given, so each query keeps a plan that can use its index.
	const where = () => {
		const conds: postgres.Fragment[] = [];
		if (input.type) conds.push(ex`type = ${input.type}`);
		if (input.status) conds.push(ex`status = ${input.status}`);
		if (input.createdAfter) conds.push(ex`created_at >= ${input.createdAfter}`);
		if (input.createdBefore) conds.push(ex`created_at < ${input.createdBefore}`);
		return conds.length ? ex`where ${conds.reduce((all, c) => ex`${all} and ${c}`)}` : ex``;
	};
	// Sums of int columns are bigint: cast to float8, exact far beyond any count here.
	type Sums = { n: number; processed: number; success: number; failed: number; skipped: number };
	/** COMPLETED batches by outcome (batch-kinds.ts outcomeOf, in SQL). */
	type Outcomes = { allFailed: number; partial: number };
	/** Delivery receipts (batch counters kept by receipts/apply.ts; read is also delivered). */
	type Receipts = { delivered: number; read: number; undelivered: number };

	const [groups, days] = await Promise.all([
		ex<({ type: BatchType; status: BatchStatus } & Sums & Receipts & Outcomes)[]>`
			select type, status, count(*)::int as n, coalesce(sum(processed_count), 0)::float8 as processed,
				coalesce(sum(success_count), 0)::float8 as success, coalesce(sum(failed_count), 0)::float8 as failed,
				coalesce(sum(skipped_count), 0)::float8 as skipped,
				count(*) filter (where status = 'COMPLETED' and success_count = 0
					and failed_count + case when type = 'SEND' then unknown_count else 0 end > 0)::int as "allFailed",
				count(*) filter (where status = 'COMPLETED' and success_count > 0
					and failed_count + case when type = 'SEND' then unknown_count else 0 end > 0)::int as partial,
				coalesce(sum(delivered_count), 0)::float8 as delivered, coalesce(sum(read_count), 0)::float8 as read,
				coalesce(sum(undelivered_count), 0)::float8 as undelivered
			from batch_operations ${where()} group by type, status`,
		ex<({ date: string; type: BatchType } & Sums)[]>`
			select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as date, type,
				count(*)::int as n, coalesce(sum(processed_count), 0)::float8 as processed,
				coalesce(sum(skipped_count), 0)::float8 as skipped,
				coalesce(sum(success_count), 0)::float8 as success, coalesce(sum(failed_count), 0)::float8 as failed
			from batch_operations ${where()} group by 1, 2 order by 1`
	]);

	const byType = Object.fromEntries(BATCH_TYPES.map((t) => [t, 0])) as Record<BatchType, number>;
	const byStatus = Object.fromEntries(BATCH_STATUSES.map((s) => [s, 0])) as Record<BatchStatus, number>;
	let total = 0;
	let totalProcessed = 0;
	let totalSuccess = 0;
	let totalFailed = 0;
	let totalSkipped = 0;
	const completedOutcomes = { ok: 0, partial: 0, failed: 0 };
	const receipts: Receipts = { delivered: 0, read: 0, undelivered: 0 };
	for (const g of groups) {
		byType[g.type] += g.n;
		byStatus[g.status] += g.n;
		total += g.n;
		totalProcessed += g.processed;
		totalSuccess += g.success;
		totalFailed += g.failed;
		totalSkipped += g.skipped;
		if (g.status === 'COMPLETED') {
			completedOutcomes.failed += g.allFailed;
			completedOutcomes.partial += g.partial;
			completedOutcomes.ok += g.n - g.allFailed - g.partial;
		}
		receipts.delivered += g.delivered;
		receipts.read += g.read;
		receipts.undelivered += g.undelivered;
	}
	const perDay = new Map<string, DayStats>();
	for (const d of days) {
		let day = perDay.get(d.date);
		if (!day) {
			day = { date: d.date, total: 0, processed: 0, success: 0, failed: 0, byType: Object.fromEntries(BATCH_TYPES.map((t) => [t, 0])) as Record<BatchType, number> };
			perDay.set(d.date, day);
		}
		day.total += d.n;
		day.byType[d.type] += d.n;
		day.processed += d.processed;
		day.success += d.success;
		day.failed += d.failed;
	}
	return {
		total,
		byType,
		byStatus,
		successRate: totalProcessed - totalSkipped > 0 ? Math.round((totalSuccess / (totalProcessed - totalSkipped)) * 1000) / 10 : 0,
		totalProcessed,
		totalSuccess,
		totalFailed,
		totalSkipped,
		completedOutcomes,
		totalDelivered: receipts.delivered,
		totalRead: receipts.read,
		totalUndelivered: receipts.undelivered,
		perDay: [...perDay.values()]
	};
}
