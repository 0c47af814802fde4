import { describe, expect, it } from 'vitest';
import { configPatch, configToForm, fullConfig } from './channel-form';

describe('channel form', () => {
	const stored = configToForm({ url: 'https://a.example/hook', timeoutMs: 5000 });

	it('sends nothing for an untouched config', () => {
		expect(configPatch('webhook', stored, { ...stored })).toEqual({});
	});

	it('sends a changed field, null for an emptied one, a secret only when typed or removed', () => {
		expect(configPatch('webhook', stored, { ...stored, url: 'https://b.example/hook', timeoutMs: '' })).toEqual({
			url: 'https://b.example/hook',
			timeoutMs: null
		});
		expect(configPatch('webhook', stored, { ...stored, secret: 'whsec_x' })).toEqual({ secret: 'whsec_x' });
		expect(configPatch('webhook', stored, { ...stored }, ['secret'])).toEqual({ secret: null });
	});

	it('lists are one entry per line, numbers are numbers', () => {
		const wa = configToForm({ templateParams: ['{{name}}', '{{city|there}}'] });
		expect(wa.templateParams).toBe('{{name}}\n{{city|there}}');
		expect(configPatch('whatsapp', wa, { ...wa, templateParams: '{{name}}\n\n {{phone}} ' })).toEqual({ templateParams: ['{{name}}', '{{phone}}'] });
		expect(fullConfig('webhook', { url: ' https://x.example ', timeoutMs: '300', secret: '' })).toEqual({ url: 'https://x.example', timeoutMs: 300 });
	});
});
