import type { BatchStatus } from '../db/schema';
import { isTerminalStatus } from '../../batch-kinds';

/**
 * The one table of allowed batch status changes. Every status write (API cancel,
 * pause, resume, the worker starting or finishing a batch) goes through
 * `transitionBatch`, which checks it here and in SQL (WHERE status = any(from)),
 * so two processes racing cannot both win.
 */
export const TRANSITIONS: Record<BatchStatus, readonly BatchStatus[]> = {
	PENDING: ['PROCESSING', 'CANCELLED', 'FAILED'],
	PROCESSING: ['PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'],
	PAUSED: ['PROCESSING', 'CANCELLED'],
	// Retry-failed re-opens a completed send for its failed items. Only a caller that
	// names COMPLETED in `from` can do it: sourcesOf() never offers a terminal status.
	COMPLETED: ['PROCESSING'],
	FAILED: [],
	CANCELLED: []
};

/** COMPLETED, FAILED, CANCELLED (the list lives with the statuses, lib/batch-kinds.ts). */
export const isTerminal: (status: BatchStatus) => boolean = isTerminalStatus;

export function canTransition(from: BatchStatus, to: BatchStatus): boolean {
	return TRANSITIONS[from].includes(to);
}

/**
 * The statuses a batch may be in for a move to `to`, when the caller does not say.
 * Terminal statuses are left out, so a late or retried job never re-opens a batch.
 */
export function sourcesOf(to: BatchStatus): BatchStatus[] {
	return (Object.keys(TRANSITIONS) as BatchStatus[]).filter((from) => !isTerminal(from) && TRANSITIONS[from].includes(to));
}
