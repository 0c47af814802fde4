import fs from 'node:fs';
import path from 'node:path';

function newestMtime(p: string): number {
	const st = fs.statSync(p);
	if (!st.isDirectory()) return st.mtimeMs;
	let newest = st.mtimeMs;
	for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
	return newest;
}

/** True when build/ is missing or older than any input of `vite build`. */
export function buildIsStale(root = process.cwd()): boolean {
	const stamp = path.join(root, 'build/handler.js');
	if (!fs.existsSync(stamp)) return true;
	const built = fs.statSync(stamp).mtimeMs;
	return ['src', 'static', 'messages', 'project.inlang/settings.json', 'package.json', 'svelte.config.js', 'vite.config.ts', 'paraglide.config.js']
		.map((p) => path.join(root, p))
		.some((p) => fs.existsSync(p) && newestMtime(p) > built);
}
