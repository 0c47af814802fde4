// Paraglide's compiler options, shared by vite.config.ts (build, dev), vitest.config.ts
// (unit tests import the messages) and svelte.config.js (so `svelte-kit sync`, tsc and
// svelte-check find src/lib/paraglide on a clean clone, where no vite run made it yet).
import { execFileSync } from 'node:child_process';
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

/** Whether the compiled messages are missing or older than their sources. */
export function paraglideIsStale(root = process.cwd()) {
	const out = path.join(root, paraglideOptions.outdir, 'messages.js');
	if (!fs.existsSync(out)) return true;
	const built = fs.statSync(out).mtimeMs;
	const sources = [path.join(root, 'project.inlang/settings.json'), ...fs.readdirSync(path.join(root, 'messages')).map((f) => path.join(root, 'messages', f))];
	return sources.some((s) => fs.statSync(s).mtimeMs > built);
}

/**
 * Compiles the messages when the output is missing or older than its sources, in a child
 * process that exits once done: the compiler leaves timers behind that would keep the
 * calling process (svelte-kit sync, vitest) alive for another 30 s.
 */
export function ensureParaglide(root = process.cwd()) {
	if (!paraglideIsStale(root)) return;
	const script = `const { compile } = await import('@inlang/paraglide-js');
		await compile(${JSON.stringify({ ...paraglideOptions, project: path.join(root, 'project.inlang'), outdir: path.join(root, paraglideOptions.outdir) })});
		process.exit(0);`;
	execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: 'inherit' });
}
