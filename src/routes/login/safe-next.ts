/**
 * Where to go after signing in: `next` only as a path of this origin, else '/'.
 * Parsed with URL against the origin, as a browser would resolve it: `/\evil.example`,
 * `/%5Cevil.example` (decoded to `/\…` by searchParams), `//evil.example`, a tab or line
 * break inside, `https://evil.example` and `javascript:` all resolve elsewhere and give '/'.
 * Client-safe: the page and its server load both use it.
 */
export function safeNext(next: string | null | undefined, origin: string): string {
	if (!next || !next.startsWith('/')) return '/';
	let url: URL;
	try {
		url = new URL(next, origin);
	} catch {
		return '/';
	}
	if (url.origin !== new URL(origin).origin) return '/';
	// Rebuilt from the parsed parts, so what the browser is sent to is what was checked.
	const path = url.pathname + url.search + url.hash;
	return path.startsWith('//') || path.startsWith('/\\') ? '/' : path;
}
