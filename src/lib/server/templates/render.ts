/**
 * Template rendering: {{name}}, {{phone}}, {{anyAttribute}} and defaults {{name|there}}.
 * Pure, so the preview, the worker and the tests share one implementation.
 */
export type RenderContact = {
	name?: string | null;
	phone?: string | null;
	attributes?: Record<string, unknown> | null;
};

const PLACEHOLDER = /\{\{\s*([\p{L}\p{N}_.-]+)\s*(?:\|([^}]*))?\}\}/gu;
const ONE_PLACEHOLDER = new RegExp(PLACEHOLDER.source, 'u');

/** True when the body has no placeholder, so one rendering fits every recipient. */
export function isStatic(body: string): boolean {
	// A non-global copy: test() on the shared /g regex would leave lastIndex behind.
	return !ONE_PLACEHOLDER.test(body);
}

/** The variable names a body uses, in order of first use. */
export function variablesOf(body: string): string[] {
	const out = new Set<string>();
	for (const m of body.matchAll(PLACEHOLDER)) out.add(m[1]);
	return [...out];
}

function lookup(contact: RenderContact, key: string): string | undefined {
	let v: unknown;
	if (key === 'name') v = contact.name;
	else if (key === 'phone') v = contact.phone;
	else v = contact.attributes?.[key];
	if (v === null || v === undefined) return undefined;
	const s = String(v);
	return s.trim() === '' ? undefined : s;
}

/** Renders `body` for one contact; `missing` lists variables with neither a value nor a default. */
export function render(body: string, contact: RenderContact): { text: string; missing: string[] } {
	const missing: string[] = [];
	const text = body.replace(PLACEHOLDER, (_m, key: string, def: string | undefined) => {
		const v = lookup(contact, key);
		if (v !== undefined) return v;
		if (def !== undefined) return def.trim();
		missing.push(key);
		return '';
	});
	return { text, missing };
}
