import { describe, expect, it } from 'vitest';
import { describeBatch, countWords, importResultParts } from './batch-summary';

describe('describeBatch', () => {
	it('says what a TAG or DELETE batch changes and on whom', () => {
		expect(describeBatch('TAG', { operation: 'add', tags: ['vip', '2024'], contactIdsCount: 1500 })).toBe('Add tags vip, 2024 to 1,500 selected contacts.');
		expect(describeBatch('TAG', { operation: 'remove', tags: ['old'], filter: { tags: ['a'], search: 'ann' } })).toBe(
			'Remove tags old from contacts tagged a matching "ann".'
		);
		expect(describeBatch('TAG', { operation: 'set', tags: ['x'], contactIds: [7] })).toBe('Set tags to x on 1 selected contact.');
		expect(describeBatch('DELETE', { filter: { all: true } })).toBe('Delete all contacts (each kept in deleted_contacts for a restore).');
	});

	it('sums up an import and has nothing to add for a send', () => {
		expect(describeBatch('IMPORT', { format: 'csv', fileName: 'fair.csv', skipDuplicates: false, tags: ['fair'], defaultCountry: 'CN' })).toBe(
			'Import file fair.csv · existing contacts updated · tags fair added · default country CN.'
		);
		expect(describeBatch('IMPORT', { format: 'json', contactCount: 3, skipDuplicates: true, tags: [] })).toBe(
			'Import a list of 3 contacts · existing contacts left as they are.'
		);
		expect(describeBatch('SEND', { body: 'hi' })).toBeNull();
	});
});

describe('count words', () => {
	it('say what each batch type did, the same on every page', () => {
		expect(countWords('DELETE')).toEqual({ success: 'deleted', failed: 'failed', skipped: 'already gone' });
		expect(countWords('SEND').success).toBe('sent');
		expect(countWords('IMPORT', { skipDuplicates: true }).skipped).toBe('already in contacts');
		expect(countWords('IMPORT', { skipDuplicates: false }).skipped).toBe('unchanged');
	});
	it("an update-mode import that changed nothing says unchanged, not duplicates", () => {
		const parts = importResultParts({ created: 0, updated: 0, duplicate: 600_000, invalid: 0 }, { skipDuplicates: false });
		expect(parts.map((p) => `${p.n} ${p.label}`)).toEqual(['0 created', '0 updated', '600000 unchanged', '0 invalid']);
	});
});
