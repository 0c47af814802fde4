import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Papa from 'papaparse';
import { env } from '../env';
import { badInput, DomainError } from '../errors';
import { LINE_MAX_BYTES, detectDelimiter, guessMapping, mappingProblem, type ColumnTarget } from '../../schemas/import';
import { CsvShape } from './csv-shape';
import type { StoredUpload } from './create';
import type { Newline } from './csv-source';

export type UploadRequest = {
	body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null;
	contentLength: number | null;
	fileName: string;
	/** A mapping chosen in the UI, or null to guess from the header names. */
	mapping: ColumnTarget[] | Record<string, ColumnTarget> | null;
};

const tooLarge = (max: number) =>
	new DomainError('PAYLOAD_TOO_LARGE', `The file is larger than the ${Math.round(max / 1024 / 1024)} MB upload limit (UPLOAD_MAX_BYTES).`, 'file');

export function uploadsDir(): string {
	return env().imports.uploadDir;
}

/**
 * Streams a CSV upload to a file under BATCHDESK_DATA_DIR/uploads and checks it on the
 * way, chunk by chunk, never holding the file in memory: the size limit (before a
 * byte is read when Content-Length says so), UTF-8, no NUL bytes (binary files), the
 * header and its mapping (as soon as the header has arrived), rows no longer than
 * 1 MB, quotes closed. Any failure deletes the partial file; nothing is written to
 * the database until the whole file is good.
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

	const dir = uploadsDir();
	await fs.promises.mkdir(dir, { recursive: true });
	const file = path.join(dir, `${randomUUID()}.csv`);
	const out = fs.createWriteStream(file, { flags: 'wx' });
	const outError = new Promise<never>((_, reject) => out.on('error', reject));
	outError.catch(() => {});
	// Opened before anything can fail: a cleanup racing a pending open would leave the file behind.
	await Promise.race([new Promise<void>((r) => out.once('ready', () => r())), outError]);

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
				headBytes = [];
				if (!out.write(head)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), outError]);
				continue;
			}
			shape.feed(chunk);
			if (!out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), outError]);
		}
		if (utf8Carry.length) throw badInput('The file is not UTF-8 text (it ends inside a character): save it as "CSV UTF-8".', 'file');
		if (!shape) {
			const head = Buffer.concat(headBytes, headLength);
			if (head.toString('utf8').replace(/^\uFEFF/, '').trim() === '') throw badInput('The file is empty.', 'file');
			({ shape, header, mapping, newline } = readHeader(head, -1, -1, req.mapping));
			shape.feed(head);
			out.write(head);
		}
		shape.end();
		if (shape.dataRecords === 0) throw badInput('The file has a header row but no data rows.', 'file');
		await new Promise<void>((resolve, reject) => {
			out.on('error', reject);
			out.end(resolve);
		});
		return {
			path: file,
			bytes,
			fileName: req.fileName,
			header,
			mapping,
			delimiter: shape.delimiter,
			newline,
			records: shape.dataRecords
		};
	} catch (e) {
		if (!out.closed) await new Promise<void>((r) => out.destroy().once('close', () => r()));
		await fs.promises.rm(file, { force: true }).catch(() => {});
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
	const mapping = resolveMapping(header, requested);
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
