import { ChannelError } from './types';

/** Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (!value) return undefined;
	const secs = Number(value);
	if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
	const at = Date.parse(value);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Classes an HTTP answer the way every provider here needs: 429 / 5xx / other 4xx. */
export async function classifyResponse(res: Response): Promise<ChannelError> {
	const text = (await res.text().catch(() => '')).slice(0, 300);
	if (res.status === 429) {
		return new ChannelError('rate_limited', 'http_429', `Rate limited: ${text}`, parseRetryAfter(res.headers.get('retry-after')) ?? 1000);
	}
	if (res.status >= 500 || res.status === 408) return new ChannelError('transient', `http_${res.status}`, `Provider error ${res.status}: ${text}`);
	return new ChannelError('permanent', `http_${res.status}`, `Rejected (${res.status}): ${text}`);
}

/**
 * POST with a timeout. A timeout or a dropped connection is transient: with an
 * idempotent channel the retry is safe, otherwise the engine decides.
 */
export async function post(url: string, init: RequestInit & { timeoutMs: number }): Promise<Response> {
	try {
		return await fetch(url, { ...init, method: 'POST', signal: AbortSignal.timeout(init.timeoutMs) });
	} catch (e) {
		const err = e as Error & { cause?: { code?: string } };
		if (err.name === 'TimeoutError' || err.name === 'AbortError') {
			throw new ChannelError('transient', 'timeout', `No answer within ${init.timeoutMs} ms`);
		}
		throw new ChannelError('transient', err.cause?.code ?? 'network', `Network error: ${err.cause?.code ?? err.message}`);
	}
}

export function str(config: Record<string, unknown>, key: string, fallback?: string): string {
	const v = config[key];
	if (typeof v === 'string' && v !== '') return v;
	if (fallback !== undefined) return fallback;
	throw new ChannelError('permanent', 'channel_config', `Channel setting "${key}" is missing`);
}
