/**
 * One line saying what a batch does, from its stored input, for the batch page:
 * recipients and counts alone do not say which tags a TAG batch changed or which
 * contacts a DELETE batch took. Works on the input as stored (unknown shape: batches
 * from older versions included).
 */
import type { BatchType } from './batch-kinds';

type Input = Record<string, unknown>;

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** "1,500 selected contacts", "contacts tagged vip, 2024 matching "ann"", "all contacts". */
export function describeTarget(input: Input): string {
	const ids = typeof input.contactIdsCount === 'number' ? input.contactIdsCount : Array.isArray(input.contactIds) ? input.contactIds.length : null;
	if (ids !== null) return `${ids.toLocaleString()} selected contact${ids === 1 ? '' : 's'}`;
	const f = (input.filter ?? {}) as Input;
	const tags = list(f.tags);
	const search = typeof f.search === 'string' && f.search ? ` matching "${f.search}"` : '';
	if (tags.length) return `contacts tagged ${tags.join(', ')}${search}`;
	if (search) return `contacts${search}`;
	return 'all contacts';
}

export function describeBatch(type: BatchType, input: Input): string | null {
	switch (type) {
		case 'TAG': {
			const tags = list(input.tags).join(', ');
			const verb = input.operation === 'remove' ? `Remove tags ${tags} from` : input.operation === 'set' ? `Set tags to ${tags} on` : `Add tags ${tags} to`;
			return `${verb} ${describeTarget(input)}.`;
		}
		case 'DELETE':
			return `Delete ${describeTarget(input)} (each kept in deleted_contacts for a restore).`;
		case 'IMPORT': {
			const from = input.format === 'csv' ? `file ${typeof input.fileName === 'string' ? input.fileName : '(upload)'}` : `a list of ${Number(input.contactCount ?? 0).toLocaleString()} contacts`;
			const tags = list(input.tags);
			const parts = [
				`Import ${from}`,
				input.skipDuplicates === false ? 'existing contacts updated' : 'existing contacts left as they are',
				tags.length ? `tags ${tags.join(', ')} added` : '',
				typeof input.source === 'string' && input.source ? `source ${input.source}` : '',
				typeof input.defaultCountry === 'string' ? `default country ${input.defaultCountry}` : ''
			];
			return `${parts.filter(Boolean).join(' · ')}.`;
		}
		default:
			return null;
	}
}

/**
 * The words for a batch's success / failed / skipped counters, the same on every page
 * (history, the batch page, the run panel under a form, the import tab): a DELETE
 * deletes, an import creates or updates, and an import's skip is "already in contacts"
 * when it skips existing phones, "unchanged" when it updates them and nothing differed.
 */
export function countWords(type: BatchType | string, input: Input = {}): { success: string; failed: string; skipped: string } {
	switch (type) {
		case 'SEND':
			return { success: 'sent', failed: 'failed', skipped: 'skipped' };
		case 'IMPORT':
			return { success: 'created or updated', failed: 'invalid', skipped: input.skipDuplicates === false ? 'unchanged' : 'already in contacts' };
		case 'DELETE':
			return { success: 'deleted', failed: 'failed', skipped: 'already gone' };
		default:
			return { success: 'changed', failed: 'failed', skipped: 'unchanged' };
	}
}

/** An import's result counters under the words of countWords (created, updated, already in contacts / unchanged, invalid). */
export function importResultParts(result: Record<string, unknown> | null | undefined, input: Input = {}) {
	const n = (k: string) => (typeof result?.[k] === 'number' ? (result[k] as number) : 0);
	return [
		{ key: 'created', label: 'created', n: n('created') },
		{ key: 'updated', label: 'updated', n: n('updated') },
		{ key: 'duplicate', label: countWords('IMPORT', input).skipped, n: n('duplicate') },
		{ key: 'invalid', label: 'invalid', n: n('invalid') }
	];
}
