import { eq } from 'drizzle-orm';
import { db, sql } from '../db/client';
import { importUploads } from '../db/schema';
import { DomainError } from '../errors';
import { findBatch, transitionBatch } from '../batches/repository';
import { completeRun, stoppedAs } from '../batches/complete-run';
import { publishBatchUpdate } from '../events/publish';
import type { ImportContact } from '../../schemas/import';
import { storedImportInput, type StoredImportInput } from './create';
import { csvRowReader, FileDuplicates, jsonRow, type StagedRow } from './records';
import { ChunkBuffer, ChunkWriter } from './writer';
import { ChunkPipeline } from './pipeline';
import { csvRecords } from './csv-source';
import { uploadBytes } from './upload-store';
import { NormalisePool } from './normalise-pool';
import { env } from '../env';
import { logger } from '../log';

/**
 * Rows per chunk (one transaction each). Large enough that per-statement costs
 * vanish, small enough that a cancel takes effect within a fraction of a second.
 */
const chunkRows = () => env().imports.chunkRows;
/** Rows normalised between yields to the event loop, so the previous chunk's statement is sent and answered meanwhile. */
const YIELD_EVERY = 2_500;
/** Slices handed to the normalise threads ahead of the one being taken. */
const POOL_AHEAD = 4;

const tick = () => new Promise<void>((r) => setImmediate(r));
const log = logger.child({ module: 'import' });
const stats = { waitDb: 0, encode: 0, read: 0, tick: 0, parse: 0 };

export type RunOutcome = 'completed' | 'cancelled' | 'paused' | 'failed' | 'skipped';

/**
 * Runs (or resumes) an IMPORT batch. Rows are parsed, normalised and encoded in Node
 * while Postgres upserts earlier chunks (ChunkPipeline), so the two overlap instead of
 * taking turns. A retried or resumed job skips the chunks already committed
 * (import_chunks), replaying their rows only to rebuild the in-file duplicate map.
 */
export async function runImport(
	batchId: string,
	opts: { contacts?: ImportContact[]; signal?: AbortSignal } = {}
): Promise<RunOutcome> {
	let batch = (await findBatch(batchId)) ?? null;
	if (!batch || batch.type !== 'IMPORT') return 'skipped';
	if (batch.status === 'PENDING') {
		batch = await transitionBatch(batchId, 'PROCESSING', { from: ['PENDING'] });
		if (!batch) return 'skipped';
	} else if (batch.status === 'PAUSED') {
		return 'paused';
	} else if (batch.status !== 'PROCESSING') {
		return 'skipped';
	}
	const input = storedImportInput.parse(batch.input);
	const committed = await CommittedRows.of(batchId);

	const writer = new ChunkWriter({ batchId, skipDuplicates: input.skipDuplicates, source: input.source ?? null });
	let outcome: RunOutcome;
	try {
		outcome = await pump(batchId, input, writer, committed, opts);
	} catch (e) {
		if (!(e instanceof DomainError)) throw e;
		// Bad file content found late (a quote never closed): the batch fails with the reason.
		await transitionBatch(batchId, 'FAILED', { from: ['PROCESSING'], error: e.message });
		outcome = 'failed';
	}
	if (outcome === 'completed') {
		const end = await completeRun(batchId, { totalFromProcessed: true });
		if (end !== 'completed') return end === 'paused' ? 'paused' : 'cancelled';
	}
	// Paused, not cancelled: keep the upload; the task checks back and resumes after the
	// committed chunks. Also when resumed between the chunk that saw the pause and the read
	// (seen in CI on a loaded machine: the operator resumed 0.7 s after the pause, before
	// this job had noticed it); calling that 'cancelled' left the batch PROCESSING with no
	// job to run it; the recheck (worker/tasks/import.ts) carries on.
	if (outcome === 'cancelled' && (await stoppedAs(batchId)) === 'paused') return 'paused';
	// An ended import's upload is gone with the transition (trigger batch_ended_drop_upload).
	return outcome;
}

async function pump(
	batchId: string,
	input: StoredImportInput,
	writer: ChunkWriter,
	committed: CommittedRows,
	opts: { contacts?: ImportContact[]; signal?: AbortSignal }
): Promise<RunOutcome> {
	const rowOpts = { defaultCountry: input.defaultCountry, batchTags: input.tags };
	const dups = new FileDuplicates(input.skipDuplicates);
	const CHUNK_ROWS = chunkRows();
	/** IMPORT_DEBUG: where this import's time went, logged at its end. */
	const DEBUG = env().imports.debug;
	const chunk = new ChunkBuffer(!input.skipDuplicates);
	let cancelled = false;
	// Update mode merges a phone across chunks in file order: its chunks go one at a time.
	const pipeline = new ChunkPipeline(writer, !input.skipDuplicates, () => publishBatchUpdate(batchId));

	const flush = async () => {
		if (chunk.size === 0) return;
		const { firstRow, lastRow } = chunk;
		dups.endChunk();
		const t1 = performance.now();
		const text = chunk.take();
		if (DEBUG) stats.encode += performance.now() - t1;
		if (opts.signal?.aborted) throw new Error('Worker is stopping; the import resumes from its last chunk.');
		const t0 = performance.now();
		if (!(await pipeline.push(text, firstRow, lastRow))) cancelled = true;
		if (DEBUG) stats.waitDb += performance.now() - t0;
	};
	let sinceYield = 0;
	/**
	 * Takes one row; says when the caller must await (a full chunk to flush, or a
	 * yield to the event loop). Synchronous on purpose: an async call per row costs a
	 * promise per row, which at a million rows is measurable garbage.
	 */
	const take = (r: StagedRow | null): 'flush' | 'yield' | null => {
		if (!r) return null;
		// Committed by an earlier run (a resume): later repeats of its phones meet the
		// contacts it wrote in Postgres.
		if (committed.has(r.row)) return null;
		dups.check(r);
		chunk.add(r);
		if (chunk.size >= CHUNK_ROWS) return 'flush';
		if (++sinceYield >= YIELD_EVERY) {
			sinceYield = 0;
			return 'yield';
		}
		return null;
	};
	const after = async (next: 'flush' | 'yield' | null) => {
		if (next === 'flush') await flush();
		else if (next === 'yield') {
			const t = performance.now();
			await tick();
			if (DEBUG) stats.tick += performance.now() - t;
		}
	};
	const started = performance.now();
	try {
		await readRows();
		await flush();
		if (!cancelled && !(await pipeline.finish())) cancelled = true;
	} finally {
		await pipeline.close();
	}
	if (DEBUG) log.info({ batchId, ...stats, total: performance.now() - started }, 'import timing (ms)');
	return cancelled ? 'cancelled' : 'completed';

	async function readRows() {
		if (input.format === 'json') {
			const contacts = opts.contacts ?? [];
			for (let i = 0; i < contacts.length && !cancelled; i++) {
				const next = take(jsonRow(contacts[i], i + 1, rowOpts));
				if (next) await after(next);
			}
		} else {
			if (!input.mapping || !input.delimiter) throw new DomainError('BAD_INPUT', 'The upload has no column mapping.');
			const upload = await storedUpload(batchId);
			const read = csvRowReader(input.mapping, rowOpts);
			const pool = await NormalisePool.start(input.mapping, rowOpts);
			// Normalised slices waiting to be taken in file order; a few ahead keep the threads busy.
			const queue: Promise<(StagedRow | null)[]>[] = [];
			const drain = async (keep: number) => {
				while (queue.length > keep && !cancelled) {
					const rows = await queue.shift()!;
					for (const r of rows) {
						const next = take(r);
						if (next) {
							await after(next);
							if (cancelled) return;
						}
					}
				}
			};
			try {
				// Spreadsheet numbering: the header is row 1, the first data record row 2.
				let record = 0;
				let tp = performance.now();
				for await (const slice of csvRecords(uploadBytes(upload.uploadId, upload.bytes), { delimiter: input.delimiter, newline: input.newline ?? '\n' })) {
					if (DEBUG) stats.parse += performance.now() - tp;
					let records = slice;
					let first = record + 1;
					record += slice.length;
					if (first === 1) {
						records = slice.slice(1);
						first = 2;
					}
					if (pool) {
						const normalised = pool.normalise(records, first);
						normalised.catch(() => {}); // awaited in drain(); never an unhandled rejection meanwhile
						queue.push(normalised);
						await drain(POOL_AHEAD);
					} else {
						for (let i = 0; i < records.length && !cancelled; i++) {
							const tr = DEBUG ? performance.now() : 0;
							const row = read(records[i], first + i);
							if (DEBUG) stats.read += performance.now() - tr;
							const next = take(row);
							if (next) await after(next);
						}
					}
					if (cancelled) break;
					tp = performance.now();
				}
				await drain(0);
			} finally {
				queue.length = 0;
				await pool?.stop();
			}
		}
	}
}

/**
 * The rows of chunks already committed by an earlier run of the batch (a resume after a
 * pause, a crash or a retry). Asked in increasing row order, as the file is read.
 */
class CommittedRows {
	private i = 0;
	private constructor(private readonly ranges: { first_row: number; last_row: number }[]) {}

	static async of(batchId: string): Promise<CommittedRows> {
		return new CommittedRows(
			await sql()<{ first_row: number; last_row: number }[]>`
				select first_row, last_row from import_chunks where batch_id = ${batchId} order by first_row`
		);
	}

	has(row: number): boolean {
		while (this.i < this.ranges.length && this.ranges[this.i].last_row < row) this.i++;
		return this.i < this.ranges.length && this.ranges[this.i].first_row <= row;
	}
}

async function storedUpload(batchId: string): Promise<{ uploadId: string; bytes: number }> {
	const [u] = await db().select().from(importUploads).where(eq(importUploads.batchId, batchId));
	if (!u) throw new DomainError('NOT_FOUND', 'The uploaded file of this import is gone.');
	return u;
}

/** The job gave up for good (worker/task.ts): the import is FAILED (its upload goes with the transition). */
export async function failImportBatch(batchId: string, reason: string) {
	await transitionBatch(batchId, 'FAILED', { error: `Import failed: ${reason}` });
}
