/**
 * Which text encoding a CSV file is in, from its first bytes, and its text. Chinese
 * Excel saves "CSV" as GBK (GB18030 is its superset) unless told "CSV UTF-8": such a
 * file is not valid UTF-8, and read as UTF-8 it is mojibake. Browser-safe and usable by
 * the server (Node's TextDecoder knows gb18030 with its full ICU): the import page
 * decodes its preview with it and converts the upload to UTF-8; the server's reader
 * (imports/csv-source.ts) can take `sniffEncoding` + a streaming TextDecoder the same way.
 */
export type CsvEncoding = 'utf-8' | 'gb18030' | 'utf-16';

/** `bytes`: the start of the file (a cut multi-byte character at its end is fine). */
export function sniffEncoding(bytes: Uint8Array): CsvEncoding {
	if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) return 'utf-16';
	try {
		// stream: a character cut by the end of the sample is not an error.
		new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
		return 'utf-8';
	} catch {
		return 'gb18030';
	}
}

/** The text of the first bytes of a file in `encoding` (a BOM dropped). */
export function decodeSample(bytes: Uint8Array, encoding: CsvEncoding): string {
	return new TextDecoder(encoding === 'utf-16' ? 'utf-16le' : encoding).decode(bytes, { stream: true }).replace(/^\uFEFF/, '');
}
