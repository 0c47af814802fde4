/** Talking to a running web process as a client would: typed tRPC with a token, and the CSV upload route. */
import { createBatchdeskClient } from '../../src/lib/trpc/node-client';

export function apiClient(url: string, token: string) {
	return createBatchdeskClient({ url, token });
}

export type UploadAnswer = {
	status: number;
	/** Milliseconds from the request's start to its answer's headers. */
	ms: number;
	body: { id?: string; error?: { code: string; message: string; field: string | null } } & Record<string, unknown>;
	/** The connection failed (reset, refused) instead of answering. */
	networkError?: string;
};

/** POST /api/imports with the file as the body; never throws (a reset becomes networkError). */
export async function uploadCsv(
	url: string,
	token: string,
	body: Buffer | string | ReadableStream<Uint8Array>,
	params: Record<string, string> = {},
	headers: Record<string, string> = {}
): Promise<UploadAnswer> {
	const qs = new URLSearchParams(params).toString();
	const t0 = performance.now();
	try {
		const res = await fetch(`${url}/api/imports${qs ? `?${qs}` : ''}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', ...headers },
			body: typeof body === 'string' || body instanceof ReadableStream ? body : new Uint8Array(body),
			// @ts-expect-error Node's fetch needs duplex for streamed bodies
			duplex: 'half'
		});
		const ms = performance.now() - t0;
		const text = await res.text();
		let parsed: UploadAnswer['body'] = {};
		try {
			parsed = JSON.parse(text);
		} catch {
			parsed = { raw: text.slice(0, 500) };
		}
		return { status: res.status, ms, body: parsed };
	} catch (e) {
		const cause = (e as { cause?: { code?: string; message?: string } }).cause;
		return { status: 0, ms: performance.now() - t0, body: {}, networkError: cause?.code ?? cause?.message ?? String(e) };
	}
}

/** GET /api/imports/:id/failed.csv as bytes. */
export async function failedCsv(url: string, token: string, batchId: string): Promise<Buffer> {
	const res = await fetch(`${url}/api/imports/${batchId}/failed.csv`, { headers: { authorization: `Bearer ${token}` } });
	if (!res.ok) throw new Error(`failed.csv answered ${res.status}`);
	return Buffer.from(await res.arrayBuffer());
}
