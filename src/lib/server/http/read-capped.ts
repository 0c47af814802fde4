/**
 * Reads a request body up to `max` bytes; null when it is larger. A declared
 * Content-Length over the cap is refused before reading anything.
 */
export async function readCapped(req: Request, max: number): Promise<Uint8Array<ArrayBuffer> | null> {
	const declared = Number(req.headers.get('content-length') ?? NaN);
	if (Number.isFinite(declared) && declared > max) return null;
	if (!req.body) return new Uint8Array();
	const chunks: Uint8Array[] = [];
	let size = 0;
	const reader = req.body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > max) {
			await reader.cancel().catch(() => {});
			return null;
		}
		chunks.push(value);
	}
	const out = new Uint8Array(size);
	let at = 0;
	for (const c of chunks) {
		out.set(c, at);
		at += c.byteLength;
	}
	return out;
}
