import { afterEach, describe, expect, it } from 'vitest';
import { getLocale, overwriteGetLocale } from '$lib/paraglide/runtime';
import { serverText } from './server-text';
import { normalisePhone } from './server/contacts/phone';

const original = getLocale;
afterEach(() => overwriteGetLocale(original));

describe('server messages in the reader’s language', () => {
	it('says the import reasons of the phone check in Chinese, and as the server did in English', () => {
		const reasons = ['', 'abc', '12', '+999 1234 5678', '+86 12', '123456789', '+86 1380013800012345'].map((p) => {
			const r = normalisePhone(p);
			return r.ok ? '' : r.reason;
		});
		overwriteGetLocale(() => 'zh-CN');
		for (const r of reasons.filter(Boolean)) expect(serverText(r), r).toMatch(/[\u4e00-\u9fff]/);
		expect(serverText('same phone as row 12')).toBe('与第 12 行手机号相同');
		expect(serverText('row has 5 cells but the header has 3')).toContain('5');
		expect(serverText('Contact opted out')).toBe('联系人已退订');
		expect(serverText('Provider error 500: {"error":"down"}')).toBe('服务商出错 500：{"error":"down"}');
		overwriteGetLocale(() => 'en');
		for (const r of reasons.filter(Boolean)) expect(serverText(r)).toBe(r);
	});

	it('passes a message it does not know through unchanged', () => {
		overwriteGetLocale(() => 'zh-CN');
		expect(serverText('Something new went wrong')).toBe('Something new went wrong');
		expect(serverText(null)).toBe('');
	});
});
