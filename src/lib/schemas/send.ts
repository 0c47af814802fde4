import { z } from 'zod';
import { listOffset } from './paging';
import { text, optionalDateTime } from './text';
import { contactFilter, targets } from './targets';
import { ITEM_STATUSES } from '../batch-kinds';
import { quietHours } from './quiet';

/** Input of batch.send (SPEC §4), shared with the send form. */
export const sendInput = z
	.object({
		...targets,
		content: text().trim().min(1, 'Content cannot be empty').max(4096, 'Content is at most 4096 characters').optional(),
		templateId: z.coerce.number().int().positive('templateId must be a template id').optional(),
		ratePerMinute: z.coerce
			.number()
			.int('ratePerMinute must be a whole number')
			.positive('ratePerMinute must be greater than 0')
			.max(600_000, 'ratePerMinute is at most 600000')
			.optional(),
		jitterMs: z.coerce.number().int().min(0, 'jitterMs cannot be negative').max(3_600_000).optional(),
		/** A Date, or an ISO string; must be in the future (checked on the database clock). */
		scheduleAt: optionalDateTime('scheduleAt'),
		channelId: text().trim().min(1).max(64).optional(),
		/**
		 * No send inside this window of each recipient's local time. Left out: the channel's
		 * default window (if it has one); null: none, whatever the channel says.
		 */
		quietHours: quietHours.nullable().optional(),
		/** Same key + same input within 24 h returns the same batch; a different input is a conflict. */
		idempotencyKey: text().trim().min(1).max(200).optional()
	})
	.superRefine((v, ctx) => {
		if ((v.content === undefined) === (v.templateId === undefined)) {
			ctx.addIssue({ code: 'custom', path: [v.content === undefined ? 'content' : 'templateId'], message: 'Give exactly one of content or templateId' });
		}
		if ((v.contactIds === undefined) === (v.filter === undefined)) {
			ctx.addIssue({ code: 'custom', path: [v.contactIds === undefined ? 'contactIds' : 'filter'], message: 'Give exactly one of contactIds or filter' });
		}
	});
export type SendInput = z.infer<typeof sendInput>;

/** Input of batch.precheck: batch.send's, whose idempotencyKey (if any) is ignored, as the check writes nothing. */
export const precheckInput = sendInput.transform(({ idempotencyKey: _k, ...rest }) => rest);
export type PrecheckInput = z.infer<typeof precheckInput>;

export const batchIdInput = z.object({ batchId: z.string().uuid('batchId must be a batch id (UUID)') });

export const itemListInput = z.object({
	batchId: z.string().uuid('batchId must be a batch id (UUID)'),
	status: z.enum(ITEM_STATUSES).optional(),
	errorCode: text().max(100).optional(),
	limit: z.number().int().min(1).max(500).default(100),
	offset: listOffset
});

export { contactFilter };

/** How long a batch of `recipients` takes: paced by its gap, unpaced by the channel cap (msg/s). */
export function estimateDurationMs(
	recipients: number,
	opts: { ratePerMinute?: number | null; jitterMs?: number | null; channelRatePerSecond?: number | null }
): number {
	if (recipients <= 0) return 0;
	const gap = opts.ratePerMinute && opts.ratePerMinute > 0 ? 60_000 / opts.ratePerMinute + (opts.jitterMs ?? 0) / 2 : 0;
	const channelGap = opts.channelRatePerSecond && opts.channelRatePerSecond > 0 ? 1000 / opts.channelRatePerSecond : 0;
	return Math.max(gap, channelGap) * Math.max(0, recipients - 1);
}

/** "1 h 02 min" style duration for the UI. */
export function formatDuration(ms: number): string {
	if (!Number.isFinite(ms) || ms <= 0) return 'instant';
	const s = Math.round(ms / 1000);
	if (s < 60) return `${s} s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
	const h = Math.floor(m / 60);
	if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
	return `${Math.floor(h / 24)} d ${h % 24} h`;
}
