import { importLanes, importSql } from '../db/client';
import { isRetryable, type ChunkCounts, type ChunkWriter } from './writer';

const MAX_RETRIES = 5;

type Sent = { text: string; firstRow: number; lastRow: number; result: Promise<ChunkCounts | null> };

/**
 * Sends an import's chunks to Postgres on the import connections of the process
 * (importSql, IMPORT_LANES of them, 2 by default), and takes the answers back in file
 * order.
 *
 * Why two at once: Postgres's work per chunk (parse, upsert, index upkeep, ledger) is
 * the import's bottleneck, and one backend uses one core; Node needs only part of the
 * other. Measured here (1M rows into 1M, 2 cores): ~13.5 s with one connection,
 * ~11-12 s with two. Chunks can run side by side because each holds the batch row
 * FOR KEY SHARE only (ChunkWriter), records its own row range (import_chunks, for a
 * resume), and in skip mode two chunks holding the same phone are harmless: each
 * inserts its phones in sorted order with ON CONFLICT DO NOTHING, so the later one
 * waits for the earlier's row, then records a duplicate. Update mode merges a phone across chunks in file order, so its
 * chunks go one after the other (`ordered`), each sent when the one before committed
 * (Node still prepares the next meanwhile).
 */
export class ChunkPipeline {
	private readonly queue: Sent[] = [];
	private stopped = false;
	private retries = 0;
	private readonly maxInFlight: number;

	constructor(
		private readonly writer: ChunkWriter,
		ordered: boolean,
		private readonly onChunk: () => Promise<void>
	) {
		// Unordered: each connection runs one and has the next one queued.
		this.maxInFlight = ordered ? 1 : importLanes() * 2;
	}

	/**
	 * Sends rows firstRow..lastRow, once fewer than maxInFlight chunks are unanswered.
	 * False once the batch stopped being PROCESSING (cancel, pause): nothing more is
	 * written then.
	 */
	async push(text: string, firstRow: number, lastRow: number): Promise<boolean> {
		while (this.queue.length >= this.maxInFlight && !this.stopped) await this.settleOldest();
		if (this.stopped) return false;
		this.queue.push(this.send(text, firstRow, lastRow));
		return true;
	}

	/** Waits for every chunk sent. False when the batch stopped. */
	async finish(): Promise<boolean> {
		while (this.queue.length) await this.settleOldest();
		return !this.stopped;
	}

	/** After an error: lets the chunks still running end (their outcome is in the database). */
	async close() {
		await Promise.allSettled(this.queue.map((s) => s.result));
		this.queue.length = 0;
	}

	private send(text: string, firstRow: number, lastRow: number): Sent {
		const result = this.writer.write(text, firstRow, lastRow, importSql());
		result.catch(() => {}); // observed in settleOldest; never an unhandled rejection meanwhile
		return { text, firstRow, lastRow, result };
	}

	private async settleOldest() {
		const oldest = this.queue[0];
		let counts: ChunkCounts | null;
		try {
			counts = await oldest.result;
		} catch (e) {
			if (!isRetryable(e) || ++this.retries > MAX_RETRIES) throw e;
			// Rolled back whole (a deadlock with another import): send it again. Chunks sent
			// behind it (unordered mode only) may commit first: a phone they share with it is
			// then theirs, and its row here a duplicate.
			this.queue[0] = this.send(oldest.text, oldest.firstRow, oldest.lastRow);
			return;
		}
		this.queue.shift();
		if (counts === null) this.stopped = true;
		else await this.onChunk();
	}
}
