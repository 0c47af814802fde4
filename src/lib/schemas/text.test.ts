import { describe, expect, it } from 'vitest';
import { sendInput } from './send';
import { batchStatsInput } from './bulk';
import { contactUpdateInput } from './contacts';
import { importJsonInput } from './import';
import { templateCreate } from './templates';
import { unstorable } from './text';

// The schemas refuse unstorable input themselves (for the worker and any caller that is
// not the tRPC layer, which also refuses it for every procedure before parsing).
describe('storable text and dates in the shared schemas', () => {
	it('finds NUL and unpaired surrogates, and accepts paired ones', () => {
		expect(unstorable('a\u0000b')).toMatch(/NUL/);
		expect(unstorable('a\ud800b')).toMatch(/surrogate/);
		expect(unstorable('a\udc00')).toMatch(/surrogate/);
		expect(unstorable('emoji 😀 and 汉字')).toBeNull();
	});

	it('refuses them field by field', () => {
		const r = sendInput.safeParse({ contactIds: [1], content: 'a\u0000b' });
		expect(r.success).toBe(false);
		expect(r.error!.issues[0].path).toEqual(['content']);
		expect(sendInput.safeParse({ filter: { tags: ['a\ud800'] }, content: 'x' }).error!.issues[0].path).toEqual(['filter', 'tags', 0]);
		expect(contactUpdateInput.safeParse({ id: 1, attributes: { ['k\u0000']: 'v' } }).success).toBe(false);
		expect(importJsonInput.safeParse({ contacts: [{ phoneE164: '+1' }], source: 'a\u0000' }).success).toBe(false);
		expect(templateCreate.safeParse({ name: 'n', body: 'b\ud800' }).success).toBe(false);
	});

	it('keeps dates within 1970–9999 and reads null as no date', () => {
		expect(sendInput.safeParse({ contactIds: [1], content: 'x', scheduleAt: '+275760-09-13T00:00:00.000Z' }).success).toBe(false);
		expect(batchStatsInput.safeParse({ createdAfter: '+275760-09-13T00:00:00.000Z' }).success).toBe(false);
		const none = sendInput.parse({ contactIds: [1], content: 'x', scheduleAt: null });
		expect(none.scheduleAt).toBeUndefined();
		expect(sendInput.parse({ contactIds: [1], content: 'x', scheduleAt: '2030-01-01T00:00:00Z' }).scheduleAt).toEqual(new Date('2030-01-01T00:00:00Z'));
	});

	it('bounds attribute keys per contact', () => {
		const attributes = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
		expect(contactUpdateInput.safeParse({ id: 1, attributes }).success).toBe(false);
		expect(importJsonInput.safeParse({ contacts: [{ phoneE164: '+1', attributes }] }).success).toBe(false);
	});

	it('bounds the variables of a template body', () => {
		const body = Array.from({ length: 21 }, (_, i) => `{{v${i}}}`).join(' ');
		expect(templateCreate.safeParse({ name: 'n', body }).success).toBe(false);
		expect(templateCreate.safeParse({ name: 'n', body: '{{name}} {{name|there}} {{city}}' }).success).toBe(true);
	});
});
