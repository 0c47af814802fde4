import { z } from 'zod';

/** A time of day as HH:MM, 00:00 to 23:59. */
const clockTime = (end: 'start' | 'end') =>
	z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, `quietHours.${end} must be a time of day as HH:MM (00:00 to 23:59)`);

/**
 * A quiet window in the recipient's local time: no send from `start` up to (not
 * including) `end`. A start later than the end wraps midnight (22:00 to 08:00). The
 * same time at both ends is refused: it would mean never, or always.
 */
export const quietHours = z
	.object({ start: clockTime('start'), end: clockTime('end') })
	.strict()
	.refine((v) => v.start !== v.end, { path: ['end'], message: 'quietHours: start and end must differ' });
export type QuietHours = z.infer<typeof quietHours>;

/** Minutes after midnight of an HH:MM. */
export const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
/** HH:MM of minutes after midnight. */
export const fromMinutes = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** The window as stored (minutes after midnight), or null for none. */
export function quietMinutes(q: QuietHours | null | undefined): { start: number; end: number } | null {
	return q ? { start: toMinutes(q.start), end: toMinutes(q.end) } : null;
}

/** The stored columns as the API shows them. */
export function quietFromColumns(start: number | null | undefined, end: number | null | undefined): QuietHours | null {
	return start == null || end == null ? null : { start: fromMinutes(start), end: fromMinutes(end) };
}
