import { ChannelError, type ErrorClass } from './types';

/** Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (!value) return undefined;
	const secs = Number(value);
	if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
	const at = Date.parse(value);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** How one of a provider's documented error codes is handled (channels/<provider>-errors.ts). */
export type ErrorRule = {
	errorClass: ErrorClass;
	/** The recipient unsubscribed: the contact is marked opted out. */
	optedOut?: boolean;
	/** rate_limited without a Retry-After header: wait this long. */
	retryAfterMs?: number;
};

/** A provider's error body, read by its table: its code (prefixed, e.g. twilio_21211), its message, and the rule if the code is known. */
export type ProviderError = { code: string; message: string; rule?: ErrorRule };

/** Reads a provider's error body; undefined when the body is not in the provider's shape. */
export type ProviderErrorReader = (status: number, body: string) => ProviderError | undefined;

/**
 * Classes an HTTP answer that is not a success. A 5xx is ambiguous whatever the body
 * says: the provider failed while handling the request and may have queued the
 * message, so only a channel that dedupes may send it again. Otherwise a provider's
 * known code decides (its table, through `read`), then the status: 429 rate limited,
 * 401 the channel's credentials, 408 transient (the request did not arrive whole),
 * any other 4xx permanent. The provider's code and message are kept for the item.
 */
export async function classifyResponse(res: Response, read?: ProviderErrorReader): Promise<ChannelError> {
	const text = await res.text().catch(() => '');
	const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
	const known = read?.(res.status, text);
	const code = known?.code ?? `http_${res.status}`;
	const detail = known?.message ?? text.slice(0, 300);
	if (res.status >= 500) return new ChannelError('transient', code, `Provider error ${res.status}: ${detail}`, undefined, { ambiguous: true });
	const rule = known?.rule;
	if (rule) {
		const wait = rule.errorClass === 'rate_limited' ? (retryAfterMs ?? rule.retryAfterMs ?? 1000) : undefined;
		return new ChannelError(rule.errorClass, code, detail, wait, { optedOut: rule.optedOut });
	}
	if (res.status === 429) return new ChannelError('rate_limited', code, `Rate limited: ${detail}`, retryAfterMs ?? 1000);
	if (res.status === 401) return new ChannelError('auth', code, `The provider refused the channel's credentials (401): ${detail}`);
	if (res.status === 408) return new ChannelError('transient', code, `Provider timed out reading the request (408): ${detail}`);
	return new ChannelError('permanent', code, `Rejected (${res.status}): ${detail}`);
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
