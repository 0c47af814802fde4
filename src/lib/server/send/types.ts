/**
 * The send engine's shared shapes: what one step of a lane reports, how a paced step
 * is spaced, and what became of each recipient of a step.
 */

/** One step's counter changes; `processed` = success + failed + skipped + unknown. */
export type CountDelta = { processed: number; success: number; failed: number; skipped: number; unknown: number };

export type SliceResult = {
	claimed: number;
	stopped: boolean;
	early?: boolean;
	delta?: CountDelta;
	/** Paced batches: when the next send may start (database clock, ms). */
	nextDueMs?: number | null;
	/** Candidates held for their quiet window instead of claimed (send/quiet.ts): more may be claimable now. */
	held?: number;
};

/** A paced batch's spacing: at least baseMs between sends plus a draw in [0, jitterMs]. */
export type PacedStep = { baseMs: number; jitterMs: number };

export type ItemOutcome = {
	id: number;
	/** `pending` = try again after notBefore (a retryable error below the attempt limit). */
	status: 'sent' | 'failed' | 'skipped' | 'pending' | 'unknown';
	errorClass?: string | null;
	code?: string | null;
	message?: string | null;
	providerMessageId?: string | null;
	notBefore?: Date | null;
	/** The provider says the recipient unsubscribed: recordOutcomes marks the contact opted out. */
	optOut?: boolean;
	/**
	 * The claim this outcome answers (the item's attempts when it was claimed): written
	 * only if the item is still under that claim, so the answer of a claim released
	 * meanwhile (and claimed again, even by this process) is never counted beside the new one.
	 */
	claim?: number;
};

/**
 * One row of a claiming statement (send/sandbox.ts, send/http.ts): the batch's status
 * and due-ness on every row, and a claimed item with its contact's fields, or nulls
 * when nothing was claimed (the batch row still answers). `gone`: the contact was
 * deleted since the batch was created.
 */
export type ClaimedRow = {
	status: string;
	due: boolean;
	/** Candidates held for their quiet window by this claim (send/quiet.ts). */
	held: number;
	id: number | null;
	attempts: number;
	phone: string | null;
	name: string | null;
	attributes: Record<string, unknown> | null;
	opted_out: boolean;
	gone: boolean;
};
