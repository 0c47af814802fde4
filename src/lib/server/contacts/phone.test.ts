import { describe, expect, it } from 'vitest';
import metadata from 'libphonenumber-js/min/metadata';
import { normalisePhone, normaliseWithParserOnly } from './phone';

describe('normalisePhone', () => {
	it('normalises the formats people write', () => {
		expect(normalisePhone('+86 138 0013 8000')).toEqual({ ok: true, e164: '+8613800138000' });
		expect(normalisePhone('(415) 555-0100', 'US')).toEqual({ ok: true, e164: '+14155550100' });
		expect(normalisePhone('138-0013-8000', 'CN')).toEqual({ ok: true, e164: '+8613800138000' });
		expect(normalisePhone('0086 138 0013 8000', 'CN')).toEqual({ ok: true, e164: '+8613800138000' });
		expect(normalisePhone('07911 123456', 'GB')).toEqual({ ok: true, e164: '+447911123456' });
		expect(normalisePhone('+44 (0)7911 123456')).toEqual({ ok: true, e164: '+447911123456' });
		expect(normalisePhone('011 1 415 555 0100', 'US')).toEqual({ ok: true, e164: '+14155550100' });
	});

	it('says why a number is refused', () => {
		expect(normalisePhone('')).toEqual({ ok: false, reason: 'phone is empty' });
		expect(normalisePhone('12')).toEqual({ ok: false, reason: 'phone number is too short' });
		expect(normalisePhone('call me')).toMatchObject({ ok: false, reason: expect.stringMatching(/letters/) });
		expect(normalisePhone('4155550100')).toMatchObject({ ok: false, reason: expect.stringMatching(/no default country/) });
		expect(normalisePhone('+1 415 555 01')).toMatchObject({ ok: false });
		expect(normalisePhone('+999 1234 5678')).toEqual({ ok: false, reason: 'phone number has an unknown country code' });
		expect(normalisePhone('+0123 4567')).toEqual({ ok: false, reason: 'phone number has an unknown country code' });
		// Calling codes of no country are known codes: valid or refused on their own plan.
		expect(normalisePhone('+800 1234 5678')).toEqual({ ok: true, e164: '+80012345678' });
		expect(normalisePhone('+979 123456789')).toEqual({ ok: true, e164: '+979123456789' });
		expect(normalisePhone('+888 12345678')).toEqual({ ok: false, reason: 'phone number is too short' });
	});

	it('the fast path agrees with the full parser on 12 000 random numbers', () => {
		// A deterministic generator, so a failure is reproducible.
		let seed = 42;
		const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
		const digits = (n: number) => Array.from({ length: n }, () => rnd(10)).join('');
		const codes = Object.keys(metadata.country_calling_codes);
		const defaults = ['CN', 'US', 'GB', 'DE', 'IT', 'FR', 'IN', 'BR', 'AR', 'MX', 'RU', 'JP'];
		let valid = 0;
		for (let i = 0; i < 12_000; i++) {
			const kind = i % 3;
			const text =
				kind === 0
					? `+${codes[rnd(codes.length)]}${digits(6 + rnd(7))}`
					: kind === 1
						? `+${['1', '86', '44', '49', '7', '91', '55', '39'][rnd(8)]}${digits(8 + rnd(4))}`
						: `${['', '0', '00', '011', '1', '8', '9'][rnd(7)]}${digits(7 + rnd(5))}`;
			const country = kind === 2 ? defaults[rnd(defaults.length)] : undefined;
			const fast = normalisePhone(text, country);
			const reference = normaliseWithParserOnly(text, country);
			expect(fast.ok ? fast.e164 : null, `${text} (${country})`).toBe(reference);
			if (reference) valid++;
		}
		expect(valid).toBeGreaterThan(1_000);
	});
});
