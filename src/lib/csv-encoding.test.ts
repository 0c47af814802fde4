import { describe, expect, it } from 'vitest';
import { decodeSample, sniffEncoding } from './csv-encoding';

// "手机,姓名\n13800138000,张伟\n" as Chinese Excel saves it (GBK).
const GBK = Uint8Array.from([
	0xca, 0xd6, 0xbb, 0xfa, 0x2c, 0xd0, 0xd5, 0xc3, 0xfb, 0x0a, 0x31, 0x33, 0x38, 0x30, 0x30, 0x31, 0x33, 0x38, 0x30, 0x30, 0x30, 0x2c, 0xd5, 0xc5,
	0xce, 0xb0, 0x0a
]);

describe('CSV encoding', () => {
	it('reads a GBK file as GBK, not as mojibake', () => {
		expect(sniffEncoding(GBK)).toBe('gb18030');
		expect(decodeSample(GBK, 'gb18030')).toBe('手机,姓名\n13800138000,张伟\n');
	});
	it('keeps UTF-8, even when the sample ends inside a character', () => {
		const utf8 = new TextEncoder().encode('\uFEFF手机,姓名\n1,张伟');
		expect(sniffEncoding(utf8.slice(0, utf8.length - 1))).toBe('utf-8');
		expect(decodeSample(utf8, 'utf-8')).toBe('手机,姓名\n1,张伟');
	});
	it('tells UTF-16 by its BOM', () => {
		expect(sniffEncoding(Uint8Array.from([0xff, 0xfe, 0x41, 0x00]))).toBe('utf-16');
	});
});
