import { z } from 'zod';
import { text } from './text';

/** Contact ids travel as numbers or digit strings (the seed used strings). */
export const contactId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const tagName = text().trim().min(1, 'Tags cannot be empty').max(64, 'Tags are at most 64 characters');

/** Which contacts an operation targets, without sending 500 000 ids from the browser. */
export const contactFilter = z.object({
	tags: z.array(tagName).max(50).optional(),
	search: text().trim().max(200).optional(),
	/** Must be true to target every contact when no tags or search narrow it down. */
	all: z.boolean().optional()
});
export type ContactFilter = z.infer<typeof contactFilter>;

export const MAX_CONTACT_IDS = 100_000;

/** Either explicit ids or a filter: exactly one. */
export const targets = {
	contactIds: z.array(contactId).min(1, 'Pick at least one contact').max(MAX_CONTACT_IDS).optional(),
	filter: contactFilter.optional()
};
const targetsObject = z.object(targets);
/** Which contacts, as the bulk forms build it (TargetPicker) and the bulk procedures take it. */
export type Target = z.infer<typeof targetsObject>;
