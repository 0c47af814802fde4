import type { ReservedSql } from 'postgres';
import { sql } from '../db/client';
import { isRetryable, type ChunkCounts, type ChunkWriter } from './writer';

/**
 * Chunks unanswered while Node builds the next one. With 1, Postgres sat idle between
 * chunks for the round trip and for Node's encoding, and Node sat idle waiting for the
 * answer; with 2 the next chunk is already queued on the connection when Postgres ends
 * one. Memory: only each chunk's encoded text (~0.7 MB per 10k rows) is kept.
 */
const DEPTH = Math.max(1, Number(process.env.IMPORT_PIPELINE ?? 2));
const MAX_RETRIES = 5;

type Sent = { text: string; afterRow: number; lastRow: number; result: Promise<ChunkCounts | null> };

/**
 * Sends an import's chunks in order on one reserved connection, pipelined (postgres.js
 * writes a query while earlier ones still run). Each chunk is chained on the batch's
 * lastRow (ChunkWriter), so when one fails, the ones queued behind it write nothing
 * and are sent again after it: rows are never applied out of order, nor skipped.
 */
export class ChunkPipeline {
	private readonly queue: Sent[] = [];
	private stopped = false;
	private retries = 0;

	private constructor(
		private readonly writer: ChunkWriter,
		private readonly conn: ReservedSql,
		private lastRow: number,
		private readonly onChunk: () => Promise<void>
	) {}

	/** A pipeline whose first chunk starts after `afterRow`; onChunk runs after each committed chunk. */
	static async open(writer: ChunkWriter, afterRow: number, onChunk: () => Promise<void>): Promise<ChunkPipeline> {
		return new ChunkPipeline(writer, await sql().reserve(), afterRow, onChunk);
	}

	/**
	 * Sends the rows after the last chunk up to `lastRow`; waits while DEPTH chunks are
	 * unanswered. False once the batch stopped being PROCESSING (cancel, pause): nothing
	 * more is written then.
	 */
	async push(text: string, lastRow: number): Promise<boolean> {
		if (this.stopped) return false;
		this.queue.push(this.send(text, this.lastRow, lastRow));
		this.lastRow = lastRow;
		while (this.queue.length > DEPTH && !this.stopped) await this.settleOldest();
		return !this.stopped;
	}

	/** Waits for every chunk sent. False when the batch stopped. */
	async finish(): Promise<boolean> {
		while (this.queue.length && !this.stopped) await this.settleOldest();
		return !this.stopped;
	}

	/** Gives the connection back (after finish, or after an error). */
	async close() {
		await Promise.allSettled(this.queue.map((s) => s.result));
		this.queue.length = 0;
		this.conn.release();
	}

	private send(text: string, afterRow: number, lastRow: number): Sent {
		const result = this.writer.write(text, afterRow, lastRow, this.conn);
		result.catch(() => {}); // observed in settleOldest; never an unhandled rejection meanwhile
		return { text, afterRow, lastRow, result };
	}

	private async settleOldest() {
		const oldest = this.queue[0];
		let counts: ChunkCounts | null;
		try {
			counts = await oldest.result;
		} catch (e) {
			if (!isRetryable(e) || ++this.retries > MAX_RETRIES) throw e;
			// The chunks behind it wrote nothing (their chain link is missing): all again, in order.
			const again = this.queue.splice(0);
			await Promise.allSettled(again.map((s) => s.result));
			for (const s of again) this.queue.push(this.send(s.text, s.afterRow, s.lastRow));
			return;
		}
		this.queue.shift();
		if (counts === null) {
			this.stopped = true;
			return;
		}
		await this.onChunk();
	}
}
