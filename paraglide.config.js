// Paraglide's compiler options, shared by vite.config.ts (build, dev), vitest.config.ts
// (unit tests import the messages) and svelte.config.js (so `svelte-kit sync`, tsc and
// svelte-check find src/lib/paraglide on a clean clone, where no vite run made it yet).
import fs from 'node:fs';
import path from 'node:path';

/** @type {import('@inlang/paraglide-js').CompilerOptions} */
export const paraglideOptions = {
	project: './project.inlang',
	outdir: './src/lib/paraglide',
	// The cookie the header's language switch sets wins; then the browser's Accept-Language
	// (navigator.languages in the browser); then English. No `url` strategy: URLs carry
	// no locale (API paths, links and tests rely on them).
	strategy: ['cookie', 'preferredLanguage', 'baseLocale'],
	cookieName: 'batchdesk_locale',
	// Several processes (vitest, the e2e build, svelte-check) may compile at once: never
	// delete the folder another one is reading; only changed files are rewritten.
	cleanOutdir: false
};

/** Compiles the messages when the output is missing or older than its sources. */
export async function ensureParaglide(root = process.cwd()) {
	const out = path.join(root, paraglideOptions.outdir, 'messages.js');
	const sources = [path.join(root, 'project.inlang/settings.json'), ...fs.readdirSync(path.join(root, 'messages')).map((f) => path.join(root, 'messages', f))];
	if (fs.existsSync(out)) {
		const built = fs.statSync(out).mtimeMs;
		if (sources.every((s) => fs.statSync(s).mtimeMs <= built)) return;
	}
	const { compile } = await import('@inlang/paraglide-js');
	await compile({ ...paraglideOptions, project: path.join(root, 'project.inlang'), outdir: path.join(root, paraglideOptions.outdir) });
}
