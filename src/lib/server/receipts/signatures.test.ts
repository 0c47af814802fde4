import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { metaSignatureValid, twilioSignature, twilioSignatureValid } from './signatures';
import { parseTwilio } from './twilio';
import { parseWhatsapp } from './whatsapp';

// Twilio's documented example (webhook security page): auth token 12345, this URL and these parameters.
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };

describe('Twilio signature', () => {
	it('matches the documented example, whatever order the parameters came in', () => {
		expect(twilioSignature('12345', URL_, Object.entries(PARAMS))).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
		expect(twilioSignature('12345', URL_, Object.entries(PARAMS).reverse())).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
	});
	it('refuses another token, another URL, a changed parameter, a missing header', () => {
		const sig = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';
		expect(twilioSignatureValid('12345', URL_, Object.entries(PARAMS), sig)).toBe(true);
		expect(twilioSignatureValid('12346', URL_, Object.entries(PARAMS), sig)).toBe(false);
		expect(twilioSignatureValid('12345', 'http://mycompany.com/myapp.php?foo=1&bar=2', Object.entries(PARAMS), sig)).toBe(false);
		expect(twilioSignatureValid('12345', URL_, Object.entries({ ...PARAMS, Digits: '1235' }), sig)).toBe(false);
		expect(twilioSignatureValid('12345', URL_, Object.entries(PARAMS), null)).toBe(false);
		expect(twilioSignatureValid('', URL_, Object.entries(PARAMS), sig)).toBe(false);
	});
});

describe('Meta signature', () => {
	it('is the hex HMAC-SHA256 of the raw bytes', () => {
		const body = new TextEncoder().encode('{"a":"\\u00e9"}');
		const good = 'sha256=' + createHmac('sha256', 's').update(body).digest('hex');
		expect(metaSignatureValid('s', body, good)).toBe(true);
		expect(metaSignatureValid('s', new TextEncoder().encode('{"a":"é"}'), good)).toBe(false);
		expect(metaSignatureValid('', body, good)).toBe(false);
	});
});

describe('parsing', () => {
	it('tells a status callback from an inbound message and knows the opt-out and opt-in keywords', () => {
		expect(parseTwilio(new URLSearchParams({ MessageSid: 'SM1', MessageStatus: 'undelivered', ErrorCode: '30003' }))).toEqual({
			kind: 'status',
			receipt: { messageId: 'SM1', delivery: 'undelivered', code: '30003' }
		});
		expect(parseTwilio(new URLSearchParams({ MessageSid: 'SM1', MessageStatus: 'sent' }))).toEqual({ kind: 'status', receipt: null });
		for (const word of ['STOP', 'stopall', ' Unsubscribe ', 'cancel', 'END', 'quit'])
			expect(parseTwilio(new URLSearchParams({ From: '+1555', Body: word }))).toMatchObject({ kind: 'inbound', keyword: 'optOut' });
		for (const word of ['START', ' yes', 'Unstop'])
			expect(parseTwilio(new URLSearchParams({ From: '+1555', Body: word }))).toMatchObject({ kind: 'inbound', keyword: 'optIn' });
		for (const word of ['STOP IT', 'please stop', 'yes please', 'restart', ''])
			expect(parseTwilio(new URLSearchParams({ From: '+1555', Body: word }))).toMatchObject({ kind: 'inbound', keyword: null });
	});
	it('reads WhatsApp statuses and skips sent and non-status changes', () => {
		const body = { entry: [{ changes: [{ value: { statuses: [{ id: 'w1', status: 'sent' }, { id: 'w1', status: 'read' }, { id: 'w2', status: 'failed', errors: [{ code: 131026 }] }] } }, { value: { messages: [{}] } }] }] };
		expect(parseWhatsapp(new TextEncoder().encode(JSON.stringify(body)))).toEqual([
			{ messageId: 'w1', delivery: 'read', code: null },
			{ messageId: 'w2', delivery: 'failed', code: '131026' }
		]);
		expect(parseWhatsapp(new TextEncoder().encode('not json'))).toBeNull();
	});
});
