import { describe, expect, it } from 'vitest';
import { isStatic, render, variablesOf } from './render';

describe('template rendering', () => {
	const contact = { name: 'Ada', phone: '+4915112345678', attributes: { city: 'Berlin', plan: '' } };
	it('fills name, phone and attributes', () => {
		expect(render('Hi {{name}} ({{ phone }}) in {{city}}', contact)).toEqual({ text: 'Hi Ada (+4915112345678) in Berlin', missing: [] });
	});
	it('uses defaults for empty or absent values and reports the rest as missing', () => {
		expect(render('{{plan|free}} {{name|there}} {{zip}}', { ...contact, name: null })).toEqual({ text: 'free there ', missing: ['zip'] });
	});
	it('knows static bodies and lists variables', () => {
		expect(isStatic('Hello all')).toBe(true);
		expect(isStatic('Hello {{name}}')).toBe(false);
		expect(variablesOf('{{a}} {{b|x}} {{a}}')).toEqual(['a', 'b']);
	});
});
