/**
 * One line saying what a batch does, from its stored input, for the batch page:
 * recipients and counts alone do not say which tags a TAG batch changed or which
 * contacts a DELETE batch took. Works on the input as stored (unknown shape: batches
 * from older versions included).
 */
import type { BatchType } from './batch-kinds';
import { m } from '$lib/paraglide/messages';
import { getLocale } from '$lib/paraglide/runtime';

const num = (n: number) => n.toLocaleString(getLocale());

type Input = Record<string, unknown>;

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** "1,500 selected contacts", "contacts tagged vip, 2024 matching "ann"", "all contacts". */
export function describeTarget(input: Input): string {
	const ids = typeof input.contactIdsCount === 'number' ? input.contactIdsCount : Array.isArray(input.contactIds) ? input.contactIds.length : null;
	if (ids !== null) return ids === 1 ? m.target_selected_one() : m.target_selected({ count: num(ids) });
	const f = (input.filter ?? {}) as Input;
	const tags = list(f.tags);
	const search = typeof f.search === 'string' && f.search ? m.target_matching({ search: f.search }) : '';
	if (tags.length) return m.target_tagged({ tags: tags.join(', '), search });
	if (search) return m.target_search({ search });
	return m.target_all();
}

export function describeBatch(type: BatchType, input: Input): string | null {
	switch (type) {
		case 'TAG': {
			const tags = list(input.tags).join(', ');
			const target = describeTarget(input);
			if (input.operation === 'remove') return m.summary_tag_remove({ tags, target });
			if (input.operation === 'set') return m.summary_tag_set({ tags, target });
			return m.summary_tag_add({ tags, target });
		}
		case 'DELETE':
			return m.summary_delete({ target: describeTarget(input) });
		case 'IMPORT': {
			const from =
				input.format === 'csv'
					? m.summary_import_file({ name: typeof input.fileName === 'string' ? input.fileName : m.summary_import_upload() })
					: m.summary_import_list({ count: num(Number(input.contactCount ?? 0)) });
			const tags = list(input.tags);
			const parts = [
				from,
				input.skipDuplicates === false ? m.summary_import_update() : m.summary_import_keep(),
				tags.length ? m.summary_import_tags({ tags: tags.join(', ') }) : '',
				typeof input.source === 'string' && input.source ? m.summary_import_source({ source: input.source }) : '',
				typeof input.defaultCountry === 'string' ? m.summary_import_country({ country: input.defaultCountry }) : ''
			];
			return `${parts.filter(Boolean).join(' · ')}${getLocale() === 'zh-CN' ? '。' : '.'}`;
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
			return { success: m.word_sent(), failed: m.word_failed(), skipped: m.word_skipped() };
		case 'IMPORT':
			return { success: m.word_created_updated(), failed: m.word_invalid(), skipped: input.skipDuplicates === false ? m.word_unchanged() : m.word_already_in() };
		case 'DELETE':
			return { success: m.word_deleted(), failed: m.word_failed(), skipped: m.word_already_gone() };
		case 'UNDO':
			return { success: m.word_undone(), failed: m.word_refused(), skipped: m.word_already_gone() };
		default:
			return { success: m.word_changed(), failed: m.word_failed(), skipped: m.word_unchanged() };
	}
}

/** An import's result counters under the words of countWords (created, updated, already in contacts / unchanged, invalid). */
export function importResultParts(result: Record<string, unknown> | null | undefined, input: Input = {}) {
	const n = (k: string) => (typeof result?.[k] === 'number' ? (result[k] as number) : 0);
	return [
		{ key: 'created', label: m.word_created(), n: n('created') },
		{ key: 'updated', label: m.word_updated(), n: n('updated') },
		{ key: 'duplicate', label: countWords('IMPORT', input).skipped, n: n('duplicate') },
		{ key: 'invalid', label: m.word_invalid(), n: n('invalid') }
	];
}
