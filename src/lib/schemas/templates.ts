import { z } from 'zod';
import { text } from './text';
import { contactFilter, contactId } from './targets';

export const templateName = text().trim().min(1, 'Name cannot be empty').max(100, 'Name is at most 100 characters');
/**
 * Distinct {{variables}} a body may use: the preview turns each into a condition over every
 * recipient (templates/service.ts), so their number is the cost a viewer can ask for.
 */
export const TEMPLATE_VARIABLES_MAX = 20;
const VARIABLE = /\{\{\s*([\p{L}\p{N}_.-]+)/gu;

export const templateBody = text()
	.trim()
	.min(1, 'Body cannot be empty')
	.max(4096, 'Body is at most 4096 characters')
	.refine(
		(b) => new Set([...b.matchAll(VARIABLE)].map((m) => m[1])).size <= TEMPLATE_VARIABLES_MAX,
		`A body uses at most ${TEMPLATE_VARIABLES_MAX} different variables`
	);

export const templateCreate = z.object({ name: templateName, body: templateBody });
export const templateUpdate = z.object({ id: contactId, name: templateName.optional(), body: templateBody.optional() });
export const templateId = z.object({ id: contactId });

/** Renders a body (or a saved template) for a few sample recipients of the given targets. */
export const templatePreview = z
	.object({
		body: templateBody.optional(),
		templateId: contactId.optional(),
		contactIds: z.array(contactId).max(100_000).optional(),
		filter: contactFilter.optional(),
		sample: z.number().int().min(1).max(20).default(5)
	})
	.refine((v) => (v.body === undefined) !== (v.templateId === undefined), {
		message: 'Give exactly one of body or templateId',
		path: ['body']
	});
