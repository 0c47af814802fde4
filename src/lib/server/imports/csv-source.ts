import Papa from 'papaparse';
import { badInput } from '../errors';

/** A quoted field longer than this is a runaway quote (the upload route refuses such files first). */
const PARTIAL_MAX_CHARS = 4 * 1024 * 1024;

/** The record separator of an upload, as found in its header line (a CRLF file reads as '\n'). */
export type Newline = '\n' | '\r';

/**
 * Streams the records of a stored CSV upload (its bytes as they come from
 * upload_chunks), a few thousand at a time, with papaparse's synchronous core parser
 * over 256 KB text slices: the incomplete last record of a slice (possibly a quoted
 * field with newlines) is carried into the next. One parse call per slice instead of
 * one async step per record keeps the parser at its full speed. A streaming UTF-8
 * decoder keeps multi-byte characters (Chinese names) whole across slice and chunk
 * boundaries. The header is record 0.
 */
export async function* csvRecords(
	bytes: AsyncIterable<Buffer>,
	opts: { delimiter: string; newline: Newline }
): AsyncGenerator<string[][]> {
	const parser: PapaParser = new Papa.Parser({
		delimiter: opts.delimiter,
		newline: opts.newline,
		quoteChar: '"',
		escapeChar: '"',
		skipEmptyLines: false
	});
	// 256 KB slices (~6k rows): fewer rows alive at once than a 1 MB slice, so less survives into the old heap.
	const stream = textSlices(bytes, SLICE_BYTES);
	let partial = '';
	let first = true;
	// CRLF files (and files mixing CRLF and LF) are read as '\n'-separated: the CR stays
	// at the end of an unquoted last cell, and would reach the stored row and its export.
	const crlf = opts.newline === '\n';
	try {
		for await (const text of stream) {
			let input = partial + text;
			if (first) {
				if (input.charCodeAt(0) === 0xfeff) input = input.slice(1);
				first = false;
			}
			const res = parser.parse(input, 0, true);
			partial = input.substring(res.meta.cursor);
			if (partial.length > PARTIAL_MAX_CHARS) {
				throw badInput('A quoted field is never closed (or a row is longer than 4 MB).', 'file');
			}
			if (res.data.length) yield crlf ? withoutCr(res.data) : res.data;
		}
		if (first) return;
		if (partial.length) {
			const res = parser.parse(partial, 0, false);
			if (res.data.length) yield crlf ? withoutCr(res.data) : res.data;
		}
	} finally {
		await stream.return(undefined);
	}
}

const SLICE_BYTES = 256 * 1024;

/** The bytes as UTF-8 text, in slices of at most `size` bytes (the stored chunks are 1 MiB). */
async function* textSlices(bytes: AsyncIterable<Buffer>, size: number): AsyncGenerator<string> {
	const decoder = new TextDecoder('utf-8');
	for await (const buf of bytes) {
		for (let at = 0; at < buf.length; at += size) {
			const text = decoder.decode(buf.subarray(at, at + size), { stream: true });
			if (text) yield text;
		}
	}
	const rest = decoder.decode();
	if (rest) yield rest;
}

type PapaParser = {
	parse(input: string, baseIndex: number, ignoreLastRow: boolean): { data: string[][]; meta: { cursor: number } };
};

function withoutCr(records: string[][]): string[][] {
	for (const r of records) {
		const last = r.length - 1;
		if (last >= 0 && r[last].endsWith('\r')) r[last] = r[last].slice(0, -1);
	}
	return records;
}
