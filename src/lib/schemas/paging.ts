import { z } from 'zod';

/**
 * Page offsets of every list: PostgreSQL walks and drops `offset` rows before the page,
 * so an unbounded offset lets a viewer make the server scan a whole table per call.
 * A million rows is past any page a person reads; scripts page by filters instead.
 */
export const OFFSET_MAX = 1_000_000;
export const listOffset = z.coerce
	.number()
	.int()
	.min(0, 'offset cannot be negative')
	.max(OFFSET_MAX, `offset is at most ${OFFSET_MAX}`)
	.default(0);
