import { describe, expect, it } from 'vitest';
import { CsvShape } from './csv-shape';

function shapeOf(text: string, delimiter = ',', splitAt: number[] = []) {
	const buf = Buffer.from(text);
	const s = new CsvShape(delimiter);
	let from = 0;
	for (const at of [...splitAt, buf.length]) {
		s.feed(buf.subarray(from, at));
		from = at;
	}
	s.end();
	return s.dataRecords;
}

describe('CsvShape', () => {
	const file = 'phone,name,note\r\n+1,"Ann ""A"", B","line1\r\nline2"\r\n\r\n+2,Bob,5\'11"\r\n+3,"x",\r\n';

	it('counts records the way a CSV parser does, wherever the chunks split', () => {
		const bytes = Buffer.byteLength(file);
		for (let a = 0; a <= bytes; a++) {
			for (const b of [a, Math.min(bytes, a + 1), Math.min(bytes, a + 7)]) expect(shapeOf(file, ',', [a, b]), `split ${a},${b}`).toBe(3);
		}
	});

	it('refuses a quote that is never closed and a record over 1 MB', () => {
		expect(() => shapeOf('phone,name\n+1,"Ann\n+2,Bob\n')).toThrow(/never closed/);
		expect(() => shapeOf(`phone,name\n+1,${'x'.repeat(1024 * 1024 + 10)}\n`)).toThrow(/Row 2 is longer than 1 MB/);
	});
});
