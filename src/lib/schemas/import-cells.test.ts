import { describe, expect, it } from 'vitest';
import { detectDelimiter, headerLine } from './import-cells';

describe('CSV header helpers', () => {
	it('detects the delimiter from the header', () => {
		expect(detectDelimiter('phone;name;"a,b"')).toBe(';');
		expect(detectDelimiter('phone\tname')).toBe('\t');
		expect(detectDelimiter('phone')).toBe(',');
	});

	it('takes the header line whatever the line ends', () => {
		expect(headerLine('phone;name\r\n+1;Ann\r\n')).toBe('phone;name');
		expect(headerLine('phone,name\n+1,Ann')).toBe('phone,name');
		expect(headerLine('phone\tname\r+1\tAnn')).toBe('phone\tname');
		expect(headerLine('phone')).toBe('phone');
	});
});
