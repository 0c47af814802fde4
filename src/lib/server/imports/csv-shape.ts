import { badInput } from '../errors';
import { LINE_MAX_BYTES } from '../../schemas/import';

/** The delimiter of a header line: the most frequent of , ; and tab outside quotes (comma when none). */
export function detectDelimiter(line: string): string {
	const counts: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
	let quoted = false;
	for (const ch of line) {
		if (ch === '"') quoted = !quoted;
		else if (!quoted && ch in counts) counts[ch]++;
	}
	let best = ',';
	for (const d of [';', '\t']) if (counts[d] > counts[best]) best = d;
	return best;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/**
 * A byte-level CSV state machine run over the upload as it streams (RFC 4180 quoting:
 * a quote opens a field only at its start, "" is a quote inside one). It counts
 * records with content, refuses a record over 1 MB (a runaway quote or a 10 MB cell)
 * and a quote never closed, before anything reaches the database. ~1 ns a byte.
 */
export class CsvShape {
	private state = FIELD_START;
	private recordBytes = 0;
	private hasContent = false;
	private records = 0;
	private readonly delim: number;

	constructor(
		readonly delimiter: string,
		private readonly crIsNewline = false
	) {
		this.delim = delimiter.charCodeAt(0);
	}

	/** Records with content after the header. */
	get dataRecords(): number {
		return Math.max(0, this.records - 1);
	}

	feed(buf: Uint8Array) {
		const delim = this.delim;
		let state = this.state;
		let recordBytes = this.recordBytes;
		let hasContent = this.hasContent;
		for (let i = 0; i < buf.length; i++) {
			const b = buf[i];
			recordBytes++;
			if (state === QUOTED) {
				if (b === QUOTE) state = QUOTE_IN_QUOTED;
				else hasContent = true;
				continue;
			}
			if (b === LF || (b === CR && this.crIsNewline)) {
				if (hasContent) this.records++;
				if (recordBytes > LINE_MAX_BYTES) this.tooLong();
				recordBytes = 0;
				hasContent = false;
				state = FIELD_START;
				continue;
			}
			if (b === delim) {
				state = FIELD_START;
				continue;
			}
			if (state === FIELD_START && b === QUOTE) {
				state = QUOTED;
				continue;
			}
			if (state === QUOTE_IN_QUOTED && b === QUOTE) {
				state = QUOTED;
				continue;
			}
			if (b !== SPACE && b !== TAB && b !== CR) {
				hasContent = true;
				if (state !== QUOTE_IN_QUOTED) state = UNQUOTED;
			}
			if (recordBytes > LINE_MAX_BYTES) this.tooLong();
		}
		if (recordBytes > LINE_MAX_BYTES) this.tooLong();
		this.state = state;
		this.recordBytes = recordBytes;
		this.hasContent = hasContent;
	}

	end() {
		if (this.state === QUOTED) {
			throw badInput(`A quoted field in row ${this.records + 1} is never closed (a missing closing ").`, 'file');
		}
		if (this.hasContent) this.records++;
		this.hasContent = false;
		this.recordBytes = 0;
	}

	private tooLong(): never {
		throw badInput(
			`Row ${this.records + 1} is longer than ${LINE_MAX_BYTES / 1024 / 1024} MB (a huge cell or a quote never closed); fix the file and upload it again.`,
			'file'
		);
	}
}
