import { z } from 'zod';
import { listOffset } from './paging';
import { optionalDateTime, text } from './text';

/**
 * The audit log's filters (client-safe): audit.list, the page's URL and the CSV export
 * read the same ones, so a page and its export show one set. `from` is inclusive, `to`
 * exclusive. Empty strings (an empty form field, `?action=`) mean "no filter".
 */
const filterShape = {
	action: z.preprocess((v) => (v === '' ? undefined : v), text().trim().max(100).optional()),
	actorId: z.preprocess(
		(v) => (v === '' || v === null ? undefined : v),
		z.coerce.number({ error: 'actorId must be a user id' }).int('actorId must be a user id').positive('actorId must be a user id').optional()
	),
	from: optionalDateTime('from'),
	to: optionalDateTime('to')
};

const ordered = (v: { from?: Date; to?: Date }) => !v.from || !v.to || v.from <= v.to;
const orderedError = { message: 'from must not be later than to', path: ['from'] };

export const auditFilter = z.object(filterShape).refine(ordered, orderedError);
export type AuditFilter = z.infer<typeof auditFilter>;

export const AUDIT_PAGE_MAX = 500;

export const auditListInput = z
	.object({
		...filterShape,
		limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(50),
		offset: listOffset
	})
	.refine(ordered, orderedError);
export type AuditListInput = z.infer<typeof auditListInput>;
