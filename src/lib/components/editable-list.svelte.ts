import { onMount } from 'svelte';
import { errorMessage } from '$lib/errors';

/**
 * The rows of a page that lists things and edits them one at a time (templates,
 * channels): loaded on mount and again after every change, with the last failure
 * (of a load, a save or a delete) in `error`. Call it while a component initialises.
 * Reactive: items, error (settable, e.g. cleared when a form is reset), busy (a save
 * is under way).
 */
export function editableList<T>(list: () => Promise<T[]>) {
	let items = $state<T[]>([]);
	let error = $state<string | null>(null);
	let busy = $state(false);

	async function load() {
		try {
			items = await list();
		} catch (e) {
			error = errorMessage(e);
		}
	}
	onMount(load);

	return {
		get items() {
			return items;
		},
		get error() {
			return error;
		},
		set error(message: string | null) {
			error = message;
		},
		get busy() {
			return busy;
		},
		/** Runs a create or an update (and whatever resets the form), then reloads. */
		async save(write: () => Promise<unknown>) {
			busy = true;
			error = null;
			try {
				await write();
				await load();
			} catch (e) {
				error = errorMessage(e);
			} finally {
				busy = false;
			}
		},
		/** Asks `question` first; runs the delete, then reloads. */
		async remove(question: string, del: () => Promise<unknown>) {
			if (!confirm(question)) return;
			try {
				await del();
				await load();
			} catch (e) {
				error = errorMessage(e);
			}
		}
	};
}
