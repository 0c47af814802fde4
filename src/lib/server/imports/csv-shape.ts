import { badInput } from '../errors';
import { LINE_MAX_BYTES } from '../../schemas/import';

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Follows the CSV structure of an upload as it streams (RFC 4180 quoting: a quote
 * opens a field only at its start, "" is a quote inside one) by jumping from one
 * quote or newline to the next with Buffer.indexOf (native memchr), not byte by byte.
 * It counts non-empty records and refuses a record over 1 MB (a runaway quote or a
 * 10 MB cell) and a quote never closed, before anything reaches the database.
 */
export class CsvShape {
	private inQuotes = false;
	/** Inside quotes, the last byte of the previous chunk was a quote (closing, or half of ""). */
	private pendingQuote = false;
	/** The byte before the current position (across chunks): decides whether a quote opens a field. */
	private prev = LF;
	private recordBytes = 0;
	private records = 0;
	private readonly delim: number;
	private readonly newline: number;

	constructor(
		readonly delimiter: string,
		crIsNewline = false
	) {
		this.delim = delimiter.charCodeAt(0);
		this.newline = crIsNewline ? CR : LF;
	}

	/** Records with content after the header. */
	get dataRecords(): number {
		return Math.max(0, this.records - 1);
	}

	feed(buf: Buffer) {
		let i = 0;
		const n = buf.length;
		if (this.pendingQuote && n > 0) {
			this.pendingQuote = false;
			if (buf[0] === QUOTE) i = 1; // "" split across chunks: still inside quotes
			else this.inQuotes = false;
			this.prev = QUOTE;
		}
		while (i < n) {
			if (this.inQuotes) {
				const q = buf.indexOf(QUOTE, i);
				if (q === -1) {
					this.add(n - i);
					return;
				}
				this.add(q + 1 - i);
				if (q + 1 === n) {
					this.pendingQuote = true;
					return;
				}
				if (buf[q + 1] === QUOTE) {
					this.add(1);
					i = q + 2;
					continue;
				}
				this.inQuotes = false;
				this.prev = QUOTE;
				i = q + 1;
				continue;
			}
			const nl = buf.indexOf(this.newline, i);
			let q = buf.indexOf(QUOTE, i);
			if (nl !== -1 && (q === -1 || nl < q)) {
				const last = nl > i ? buf[nl - 1] : this.prev;
				this.add(nl - i);
				this.endRecord(last);
				this.prev = LF;
				i = nl + 1;
				continue;
			}
			if (q === -1) {
				this.add(n - i);
				this.prev = buf[n - 1];
				return;
			}
			const before = q > i ? buf[q - 1] : this.prev;
			this.add(q + 1 - i);
			if (before === this.delim || before === LF || before === CR) this.inQuotes = true;
			this.prev = QUOTE;
			i = q + 1;
		}
	}

	end() {
		if (this.inQuotes && !this.pendingQuote) {
			throw badInput(`A quoted field in row ${this.records + 1} is never closed (a missing closing ").`, 'file');
		}
		this.endRecord(this.prev);
	}

	private add(bytes: number) {
		this.recordBytes += bytes;
		if (this.recordBytes > LINE_MAX_BYTES) {
			throw badInput(
				`Row ${this.records + 1} is longer than ${LINE_MAX_BYTES / 1024 / 1024} MB (a huge cell or a quote never closed); fix the file and upload it again.`,
				'file'
			);
		}
	}

	/** A record that is only a CR (a blank CRLF line) does not count. */
	private endRecord(last: number) {
		if (this.recordBytes > 1 || (this.recordBytes === 1 && last !== CR)) this.records++;
		this.recordBytes = 0;
	}
}
