import fs from 'node:fs';
import path from 'node:path';

/**
 * Paraglide's compiled messages (src/lib/paraglide) are rewritten whenever vite,
 * vitest or svelte-kit sync compiles them: counting them would make a build look stale
 * in the middle of a test run, and a rebuild replaces modules a running server still
 * loads on demand. Their sources (messages/, project.inlang) are counted instead.
 */
const GENERATED = new Set([path.join('src', 'lib', 'paraglide')]);

function newestMtime(p: string, root: string): number {
	if (GENERATED.has(path.relative(root, p))) return 0;
	const st = fs.statSync(p);
	if (!st.isDirectory()) return st.mtimeMs;
	// A folder's own time counts (a removed file changes it), but not the generated folder's parent's: recompiling recreates it.
	const parentOfGenerated = [...GENERATED].some((g) => path.dirname(g) === path.relative(root, p));
	let newest = parentOfGenerated ? 0 : st.mtimeMs;
	for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e), root));
	return newest;
}

/** True when build/ is missing or older than any input of `vite build`. */
export function buildIsStale(root = process.cwd()): boolean {
	const stamp = path.join(root, 'build/handler.js');
	if (!fs.existsSync(stamp)) return true;
	const built = fs.statSync(stamp).mtimeMs;
	return ['src', 'static', 'messages', 'project.inlang/settings.json', 'package.json', 'svelte.config.js', 'vite.config.ts', 'paraglide.config.js']
		.map((p) => path.join(root, p))
		.some((p) => fs.existsSync(p) && newestMtime(p, root) > built);
}
