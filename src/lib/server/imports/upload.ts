import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import Papa from 'papaparse';
import { env } from '../env';
import { badInput, DomainError } from '../errors';
import { isConnectionError, type Executor } from '../db/client';
import { LINE_MAX_BYTES, columnMapping, detectDelimiter, guessMapping, mappingProblem, type ColumnTarget } from '../../schemas/import';
import { logger } from '../log';
import { CsvShape } from './csv-shape';
import type { StoredUpload } from './create';
import type { Newline } from './csv-source';
import { sweepOrphanUploadRows, UploadWriter } from './upload-store';

export type UploadRequest = {
	body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null;
	contentLength: number | null;
	fileName: string;
	/** A mapping chosen in the UI, or null to guess from the header names. */
	mapping: ColumnTarget[] | Record<string, ColumnTarget> | null;
	/** Where the chunks are inserted (tests: a connection whose writes fail); default the shared pool. */
	store?: Executor;
};

/** Most columns an import takes (the worker's stored-input schema refuses more). */
export const MAX_COLUMNS = 500;

/**
 * The database could not take the upload: 507 when it is full (SQLSTATE 53100
 * disk_full, the server's disk or a managed server's storage quota), 500 for any other
 * failure to store it (an I/O error, a lost connection…). The message says what to do;
 * the chunks already stored are removed when this is thrown.
 */
export class UploadStorageError extends Error {
	constructor(
		readonly status: 507 | 500,
		readonly code: 'INSUFFICIENT_STORAGE' | 'STORAGE_ERROR',
		message: string,
		readonly cause: unknown
	) {
		super(message);
		this.name = 'UploadStorageError';
	}
}

/** A PostgreSQL error (a SQLSTATE, five characters) or a lost connection: the store failed, not the file. */
function isStoreError(e: unknown): boolean {
	const code = (e as { code?: unknown })?.code;
	return (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) || isConnectionError(e);
}

function storageError(e: unknown): UploadStorageError {
	const code = String((e as { code?: unknown })?.code ?? 'unknown');
	if (code === '53100') {
		return new UploadStorageError(507, 'INSUFFICIENT_STORAGE', `The database is full (${code} disk_full): nothing was imported. Free disk space on the PostgreSQL server (or ask an administrator to), then upload again.`, e);
	}
	return new UploadStorageError(500, 'STORAGE_ERROR', `The server could not store the upload in the database (${code}): nothing was imported. Try again; if it persists, check the PostgreSQL server.`, e);
}

const tooLarge = (max: number) =>
	new DomainError('PAYLOAD_TOO_LARGE', `The file is larger than the ${Math.round(max / 1024 / 1024)} MB upload limit (UPLOAD_MAX_BYTES).`, 'file');

/**
 * Streams a CSV upload into PostgreSQL (upload_chunks, ~1 MiB rows, see
 * upload-store.ts) and checks it on the way, chunk by chunk, never holding the file in
 * memory: the size limit (before a byte is read when Content-Length says so), UTF-8,
 * no NUL bytes (binary files), the header and its mapping (as soon as the header has
 * arrived, before a byte is stored), rows no longer than 1 MB, quotes closed. Any
 * failure removes the chunks stored so far; no batch exists until the whole file is good.
 */
export async function receiveCsvUpload(req: UploadRequest): Promise<StoredUpload> {
	const max = env().imports.uploadMaxBytes;
	if (req.contentLength !== null && req.contentLength > max) throw tooLarge(max);
	if (!req.body) {
		throw badInput('The request has no body: send the CSV file as the body, with a Content-Type header (text/csv).', 'file');
	}
	// preventCancel: cancelling a SvelteKit request body destroys the socket, and the
	// client would see a reset instead of our 400/413 answer.
	const body =
		'getReader' in req.body
			? req.body.values({ preventCancel: true })
			: req.body;

	const out = new UploadWriter(req.store);
	const digest = createHash('sha256');

	let utf8Carry: Buffer = Buffer.alloc(0);
	let bytes = 0;
	let headBytes: Buffer[] = [];
	let headLength = 0;
	let shape: CsvShape | null = null;
	let header: string[] = [];
	let mapping: ColumnTarget[] = [];
	let newline: Newline = '\n';
	try {
		for await (const part of body) {
			const chunk = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
			if (bytes === 0 && chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
				throw badInput('The file is UTF-16: save it as "CSV UTF-8" and upload again.', 'file');
			}
			bytes += chunk.length;
			if (bytes > max) throw tooLarge(max);
			const nul = chunk.indexOf(0);
			if (nul !== -1) {
				throw badInput(`This is not a text file (a NUL byte at offset ${bytes - chunk.length + nul}); export it as CSV (UTF-8).`, 'file');
			}
			// Validated without decoding (no string garbage); a character split across chunks waits for the next one.
			const joined = utf8Carry.length ? Buffer.concat([utf8Carry, chunk]) : chunk;
			const tail = incompleteUtf8Tail(joined);
			if (!isUtf8(joined.subarray(0, joined.length - tail))) {
				throw badInput('The file is not UTF-8 text: save it as "CSV UTF-8" (other encodings are not supported).', 'file');
			}
			utf8Carry = Buffer.from(joined.subarray(joined.length - tail));
			if (!shape) {
				headBytes.push(chunk);
				headLength += chunk.length;
				const head = Buffer.concat(headBytes, headLength);
				const lf = head.indexOf(10);
				const cr = head.indexOf(13);
				if (lf === -1 && (cr === -1 || cr === head.length - 1) && headLength <= LINE_MAX_BYTES) continue;
				({ shape, header, mapping, newline } = readHeader(head, lf, cr, req.mapping));
				shape.feed(head);
				digest.update(head);
				headBytes = [];
				await out.write(head);
				continue;
			}
			shape.feed(chunk);
			digest.update(chunk);
			await out.write(chunk);
		}
		if (utf8Carry.length) throw badInput('The file is not UTF-8 text (it ends inside a character): save it as "CSV UTF-8".', 'file');
		if (!shape) {
			const head = Buffer.concat(headBytes, headLength);
			if (head.toString('utf8').replace(/^\uFEFF/, '').trim() === '') throw badInput('The file is empty.', 'file');
			({ shape, header, mapping, newline } = readHeader(head, -1, -1, req.mapping));
			shape.feed(head);
			digest.update(head);
			await out.write(head);
		}
		shape.end();
		if (shape.dataRecords === 0) throw badInput('The file has a header row but no data rows.', 'file');
		await out.end();
		return {
			sha256: digest.digest('hex'),
			uploadId: out.id,
			bytes,
			fileName: req.fileName,
			header,
			mapping,
			delimiter: shape.delimiter,
			newline,
			records: shape.dataRecords
		};
	} catch (e) {
		await out.discard().catch((err) => logger.child({ module: 'import' }).warn({ err, uploadId: out.id }, 'removing a failed upload failed; the orphan sweep will'));
		if (!(e instanceof DomainError) && isStoreError(e)) throw storageError(e);
		throw e;
	}
}

/** How many bytes at the end of buf start a UTF-8 character that is not complete yet. */
function incompleteUtf8Tail(buf: Buffer): number {
	for (let k = 1; k <= Math.min(3, buf.length); k++) {
		const b = buf[buf.length - k];
		if ((b & 0xc0) === 0x80) continue;
		const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
		return need > k ? k : 0;
	}
	return 0;
}

function readHeader(
	head: Buffer,
	lf: number,
	cr: number,
	requested: UploadRequest['mapping']
): { shape: CsvShape; header: string[]; mapping: ColumnTarget[]; newline: Newline } {
	const end = lf !== -1 ? lf : cr !== -1 ? cr : head.length;
	if (end > LINE_MAX_BYTES) throw badInput('The first line is longer than 1 MB: this is not a CSV file with a header row.', 'file');
	const newline: Newline = lf !== -1 ? '\n' : cr !== -1 ? '\r' : '\n';
	const line = head.subarray(0, end).toString('utf8').replace(/^\uFEFF/, '').replace(/\r$/, '');
	if (line.trim() === '') throw badInput('The first line is empty: the file must start with a header row (phone, name, …).', 'file');
	const delimiter = detectDelimiter(line);
	const parsed = Papa.parse<string[]>(line, { delimiter, newline: '\n' });
	const header = (parsed.data[0] ?? []).map((h) => h.trim());
	// Refused here, as the header arrives, rather than by the worker after the whole file is stored.
	if (header.length > MAX_COLUMNS) {
		throw badInput(`The file has ${header.length} columns; an import takes at most ${MAX_COLUMNS}. Remove the columns you do not need and upload again.`, 'file');
	}
	const mapping = resolveMapping(header, requested);
	const valid = columnMapping.safeParse(mapping);
	if (!valid.success) {
		const issue = valid.error.issues[0];
		const column = typeof issue.path[0] === 'number' ? ` (column ${issue.path[0] + 1}, "${header[issue.path[0]] ?? ''}")` : '';
		throw new DomainError('BAD_INPUT', `${issue.message}${column}.`, 'mapping');
	}
	const problem = mappingProblem(header, mapping);
	if (problem) throw new DomainError('BAD_INPUT', `${problem} Columns found: ${header.map((h) => `"${h}"`).join(', ')}.`, 'mapping');
	return { shape: new CsvShape(delimiter, newline === '\r'), header, mapping, newline };
}

function resolveMapping(header: string[], requested: UploadRequest['mapping']): ColumnTarget[] {
	if (Array.isArray(requested)) return requested;
	const guess = guessMapping(header);
	if (!requested) return guess;
	// By header name: the named columns as given, the others guessed (minus a second phone/name).
	const named = header.map((h) => requested[h]);
	const taken = new Set<ColumnTarget>(named.filter((t) => t === 'phone' || t === 'name'));
	return header.map((_, i) => named[i] ?? (taken.has(guess[i]) ? 'ignore' : guess[i]));
}

const SWEEP_EVERY_MS = 60 * 60_000;
let lastSweep = 0;

/**
 * Removes stored uploads no pending import needs (upload-store.ts). Run at `npm start`
 * (olderThanMs 0: no upload is in progress then), at most hourly from the upload route,
 * and by the worker's daily ledger task. Returns the upload ids removed.
 */
export async function sweepOrphanUploads(opts: { olderThanMs?: number } = {}): Promise<string[]> {
	lastSweep = Date.now();
	return sweepOrphanUploadRows(opts);
}

/** Starts a sweep in the background when the last one is over an hour old (never fails the caller). */
export function sweepOrphanUploadsNowAndThen() {
	if (Date.now() - lastSweep < SWEEP_EVERY_MS) return;
	lastSweep = Date.now();
	void sweepOrphanUploads().catch((err) => logger.child({ module: 'import' }).warn({ err }, 'sweeping orphaned uploads failed'));
}
