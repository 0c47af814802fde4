import { z } from 'zod';
import { listOffset } from './paging';
import { text } from './text';
import { contactId, tagName } from './targets';
import { ATTRIBUTE_KEY_MAX, ATTRIBUTE_VALUE_MAX, ATTRIBUTES_MAX, NAME_MAX } from './import';

/** contacts.list: the same search/tags as a bulk action's filter, so "all N matching" means one set. */
export const contactListInput = z.object({
	search: text().trim().max(200).optional(),
	tags: z.array(tagName).max(50).optional(),
	limit: z.number().int().min(1).max(200).default(50),
	offset: listOffset
});
export type ContactListInput = z.infer<typeof contactListInput>;

export const contactUpdateInput = z.object({
	id: contactId,
	name: text().trim().max(NAME_MAX, `Names are at most ${NAME_MAX} characters`).nullable().optional(),
	tags: z.array(tagName).max(100, 'At most 100 tags').optional(),
	attributes: z
		.record(
			text().trim().min(1, 'Attribute keys cannot be empty').max(ATTRIBUTE_KEY_MAX),
			text().max(ATTRIBUTE_VALUE_MAX, `Attribute values are at most ${ATTRIBUTE_VALUE_MAX} characters`)
		)
		.refine((a) => Object.keys(a).length <= ATTRIBUTES_MAX, `At most ${ATTRIBUTES_MAX} attributes per contact`)
		.optional(),
	optedOut: z.boolean().optional()
});
export type ContactUpdateInput = z.infer<typeof contactUpdateInput>;

/** How the contacts page hands a selection to the bulk tabs: ?ids=1,2,3 or ?filter=<JSON of a contactFilter>. */
export function selectionQuery(sel: { ids: number[] } | { filter: { tags?: string[]; search?: string; all?: boolean } }): string {
	if ('ids' in sel) return `ids=${sel.ids.join(',')}`;
	return `filter=${encodeURIComponent(JSON.stringify(sel.filter))}`;
}
