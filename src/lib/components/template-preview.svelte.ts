import { trpc } from '$lib/trpc/client';
import type { RouterInputs, TemplatePreview } from '$lib/trpc/types';
import { errorMessage } from '$lib/errors';

/**
 * A message body rendered for a few sample recipients, kept up to date as the
 * operator types: templates.preview is asked again (debounced) whenever what
 * `input` reads changes; `input` returns null when there is nothing to preview.
 * Call it while a component initialises (it uses $effect). Reactive: preview, error
 * (the last failure, kept until a preview succeeds).
 */
export function templatePreview(input: () => RouterInputs['templates']['preview'] | null, delayMs = 300) {
	let preview = $state<TemplatePreview | null>(null);
	let error = $state<string | null>(null);
	$effect(() => {
		const query = input();
		if (!query) {
			preview = null;
			return;
		}
		const timer = setTimeout(async () => {
			try {
				preview = await trpc().templates.preview.query(query);
				error = null;
			} catch (e) {
				error = errorMessage(e);
				preview = null;
			}
		}, delayMs);
		return () => clearTimeout(timer);
	});
	return {
		get preview() {
			return preview;
		},
		get error() {
			return error;
		}
	};
}
