/**
 * The console's two languages stay complete: every message exists in en and zh-CN with
 * a text, the same placeholders, and is used somewhere; and no .svelte file under src/
 * shows English that is not a message. Fast (reads files; no browser, no database).
 *
 * The markup check is a heuristic, what it looks at:
 * - text between tags (script, style, comments and {…} expressions taken out);
 * - the values of the attributes people read: placeholder, title, alt, aria-label,
 *   label, heading, and the BulkAction props reviewLabel, confirmVerb, dialogLabel;
 * - string literals that are the branches of a ?: inside a {…} in markup
 *   ({busy ? 'Signing in…' : 'Sign in'}).
 * Any run of two or more Latin letters there fails, unless it is a brand or technical
 * name (ALLOWED). Strings built in <script> are not checked here: they are caught by
 * review, and by the svelte-check that m.<key>(…) exists with the right parameters.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'messages', f), 'utf8')) as Record<string, unknown>;
const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== '$schema')) as Record<string, string>;
const en = strip(read('en.json'));
const zh = strip(read('zh-CN.json'));

/** Brand names, formats and example values that read the same in both languages. */
const ALLOWED = new Set(['Batchdesk', 'CSV', 'SMS', 'Twilio', 'WhatsApp', 'API', 'Cloud', 'UTF', 'GBK', 'MB', 'ID', 'E', 'vip', 'customer', 'lead', 'fair', 'my', 'webhook']);

function files(dir: string, ext: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) return e.name === 'paraglide' ? [] : files(p, ext);
		return e.name.endsWith(ext) ? [p] : [];
	});
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();

describe('messages', () => {
	it('every key of en.json is in zh-CN.json and the other way round', () => {
		expect(Object.keys(en).filter((k) => !(k in zh))).toEqual([]);
		expect(Object.keys(zh).filter((k) => !(k in en))).toEqual([]);
		expect(Object.keys(en).length).toBeGreaterThan(400);
	});

	it('no message is empty, and both languages use the same placeholders', () => {
		for (const [k, v] of Object.entries(en)) {
			expect(typeof v === 'string' && v.trim(), `en ${k}`).toBeTruthy();
			expect(typeof zh[k] === 'string' && zh[k].trim(), `zh-CN ${k}`).toBeTruthy();
			expect(placeholders(zh[k]), `placeholders of ${k}`).toEqual(placeholders(v));
		}
	});

	it('the Chinese is Chinese: no zh-CN message is a copy of the English one unless it is a name', () => {
		const copies = Object.keys(en).filter((k) => en[k] === zh[k] && /[a-z]{3,}/.test(en[k].replace(/\{\w+\}/g, '')));
		expect(copies).toEqual([]);
	});

	it('every message is used by the code (no stale keys)', () => {
		const code = [...files(path.join(ROOT, 'src'), '.svelte'), ...files(path.join(ROOT, 'src'), '.ts')].map((f) => fs.readFileSync(f, 'utf8')).join('\n');
		expect(Object.keys(en).filter((k) => !new RegExp(`\\bm\\.${k}\\b`).test(code))).toEqual([]);
	});
});

const READ_ATTRS = ['placeholder', 'title', 'alt', 'aria-label', 'label', 'heading', 'reviewLabel', 'confirmVerb', 'dialogLabel'];

/**
 * Markup with script, style, comments and {…} expressions removed (expressions become a
 * marker). Expressions that are the value of an attribute nobody reads (class=, href=,
 * value=, …) are left out: their strings are class names and URLs.
 */
function markupOf(src: string): { text: string; expressions: string[] } {
	const body = src
		.replace(/<script[\s\S]*?<\/script>/g, '')
		.replace(/<style[\s\S]*?<\/style>/g, '')
		.replace(/<!--[\s\S]*?-->/g, '');
	let text = '';
	const expressions: string[] = [];
	let depth = 0;
	let cur = '';
	let attr: string | null = null;
	for (const ch of body) {
		if (ch === '{') {
			if (depth++ === 0) {
				cur = '';
				attr = /([\w:-]+)=$/.exec(text)?.[1] ?? null;
			} else cur += ch;
		} else if (ch === '}' && depth > 0) {
			if (--depth === 0) {
				if (attr === null || READ_ATTRS.includes(attr)) expressions.push(cur);
				text += '\u0000';
			} else cur += ch;
		} else if (depth > 0) cur += ch;
		else text += ch;
	}
	return { text, expressions };
}

/** English words left after the allowed ones are taken out. */
function english(s: string): string[] {
	// Entities and URL paths (/api/receipts/) are not words.
	return (s.replace(/&[#\w]+;/g, ' ').replace(/\/[\w/.-]*/g, ' ').match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !ALLOWED.has(w));
}

function findings(file: string): string[] {
	const { text, expressions } = markupOf(fs.readFileSync(file, 'utf8'));
	const out: string[] = [];
	// Text nodes: between a tag's end and the next tag's start.
	for (const [, t] of text.matchAll(/>([^<>]*)</g)) if (english(t).length) out.push(`text "${t.trim()}"`);
	for (const [, attr, v] of text.matchAll(/\s([\w-]+)="([^"]*)"/g)) {
		if (READ_ATTRS.includes(attr) && english(v).length) out.push(`${attr}="${v}"`);
	}
	for (const e of expressions) {
		for (const [, s] of e.matchAll(/(?:\?|\s:)\s*'((?:[^'\\]|\\.)*)'/g)) if (english(s).length) out.push(`string '${s}' in {${e.trim()}}`);
		for (const [, s] of e.matchAll(/(?:\?|\s:)\s*`((?:[^`\\]|\\.)*)`/g)) if (english(s.replace(/\$\{[^}]*\}/g, '')).length) out.push(`string \`${s}\` in {${e.trim()}}`);
	}
	return out;
}

describe('no untranslated English in the console markup', () => {
	const svelteFiles = files(path.join(ROOT, 'src'), '.svelte');

	it('finds the .svelte files', () => {
		expect(svelteFiles.length).toBeGreaterThan(25);
	});

	it('the heuristic catches what it should (a text node, an attribute, a ternary branch)', () => {
		const tmp = path.join(ROOT, 'node_modules/.i18n-test-probe.svelte');
		fs.writeFileSync(tmp, `<script>let a = 'Fine here';</script>\n<p>Sign in</p><input placeholder="Your name" /><b>{busy ? 'Saving…' : m.save()}</b><i class={x ? 'warn' : ''}>{m.ok()} · Batchdesk</i>`);
		try {
			expect(findings(tmp)).toEqual(['text "Sign in"', 'placeholder="Your name"', "string 'Saving…' in {busy ? 'Saving…' : m.save()}"]);
		} finally {
			fs.rmSync(tmp);
		}
	});

	for (const file of svelteFiles) {
		it(path.relative(ROOT, file), () => {
			expect(findings(file)).toEqual([]);
		});
	}
});
