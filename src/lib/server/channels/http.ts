import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent, Dispatcher, request } from 'undici';
import { ChannelError, type ErrorClass } from './types';
import { connectLookup, literalAddressProblem } from './address-policy';

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
export async function classifyResponse(res: ProviderResponse, read?: ProviderErrorReader): Promise<ChannelError> {
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
 * What a provider answered: the part of a fetch Response the channels read, so
 * classifyResponse works on either.
 */
export type ProviderResponse = {
	status: number;
	ok: boolean;
	headers: { get(name: string): string | null };
	text(): Promise<string>;
	json(): Promise<unknown>;
};

/**
 * One keep-alive pool per connect timeout (channels rarely differ). undici 7's own
 * `request` rather than fetch: Node 20's fetch bundles undici 6 and builds WHATWG
 * streams per call; `request` on an Agent keeps sockets open between sends (no
 * handshake per message) and costs less CPU per call, which is what a worker sending
 * ~1 000 requests a second on a shared core spends its time on. Connections per
 * origin are not capped here: the send window (send/http.ts) bounds requests in flight.
 */
const agents = new Map<number, Dispatcher>();
function agentFor(connectTimeoutMs: number): Dispatcher {
	let a = agents.get(connectTimeoutMs);
	if (!a) {
		// connectLookup: every connection's resolved address is checked (channels/address-policy.ts).
		a = new WatchedAgent(new Agent({ connect: { timeout: connectTimeoutMs, lookup: connectLookup }, keepAliveTimeout: 10_000 }));
		agents.set(connectTimeoutMs, a);
	}
	return a;
}

/** Per request: set once undici starts writing it to a socket; a callback once it has all been written. */
type WriteWatch = { started: boolean; onWritten?: () => void };
const WATCH = Symbol('writeWatch');

/**
 * Sees when a request goes onto the wire: undici calls a (classic) handler's onConnect
 * right before it writes the request line, onRequestSent once the body is written.
 * Whether a failure is ambiguous depends only on the first. A plain dispatcher around
 * the Agent rather than an interceptor (compose): interceptors get the new handler API,
 * which has no "request sent" event.
 */
class WatchedAgent extends Dispatcher {
	constructor(private readonly agent: Agent) {
		super();
	}
	dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
		const watch = (opts as { [WATCH]?: WriteWatch })[WATCH];
		if (!watch) return this.agent.dispatch(opts, handler);
		const target = handler as Dispatcher.DispatchHandler & Record<string | symbol, unknown>;
		const call = (name: string, args: unknown[]) => (target[name] as ((...a: unknown[]) => unknown) | undefined)?.apply(target, args);
		const wrapped = new Proxy(target, {
			get(t, prop) {
				if (prop === 'onConnect') {
					return (...args: unknown[]) => {
						watch.started = true;
						return call('onConnect', args);
					};
				}
				if (prop === 'onRequestSent') {
					return (...args: unknown[]) => {
						watch.onWritten?.();
						return call('onRequestSent', args);
					};
				}
				const v = Reflect.get(t, prop, t);
				return typeof v === 'function' ? v.bind(t) : v;
			}
		});
		return this.agent.dispatch(opts, wrapped);
	}
}

/**
 * The engine's hook into the transport without threading it through every channel:
 * `whenWritten(cb, () => channel.send(msg))` calls cb (in this async context's
 * request) the moment the request has been written, e.g. to pace from that instant.
 */
const writtenHook = new AsyncLocalStorage<() => void>();
export function whenWritten<T>(onWritten: () => void, fn: () => Promise<T>): Promise<T> {
	return writtenHook.run(onWritten, fn);
}

/** Failures before anything could reach the provider (nothing to be ambiguous about). */
const CONNECT_CODES: Record<string, string> = {
	UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
	ECONNREFUSED: 'ECONNREFUSED',
	ENOTFOUND: 'ENOTFOUND',
	EAI_AGAIN: 'EAI_AGAIN',
	EHOSTUNREACH: 'EHOSTUNREACH',
	ENETUNREACH: 'ENETUNREACH'
};
/** What an operator reads for each, before "host:port (CODE)". */
const CONNECT_WORDS: Record<string, string> = {
	UND_ERR_CONNECT_TIMEOUT: 'connect timeout to',
	ECONNREFUSED: 'connection refused by',
	ENOTFOUND: 'host not found:',
	EAI_AGAIN: 'DNS lookup failed for',
	EHOSTUNREACH: 'host unreachable:',
	ENETUNREACH: 'network unreachable to'
};

/**
 * POST with a timeout, through a keep-alive pool. timeoutMs bounds the connect, the
 * wait for the answer's headers after the request was written, and each pause in its
 * body. A failure is `ambiguous` when the request had started onto the wire (a timeout
 * waiting for the answer, a reset or a closed socket after writing): the provider may
 * have it. A refused connection, a DNS failure or a connect timeout never sent anything.
 * Both are transient; with an idempotent channel a retry is safe, otherwise the engine decides.
 */
export async function post(url: string, init: { body: string; headers: Record<string, string>; timeoutMs: number }): Promise<ProviderResponse> {
	const literal = literalAddressProblem(url);
	if (literal) throw blockedAddress(literal);
	const watch: WriteWatch = { started: false, onWritten: writtenHook.getStore() };
	let res: Dispatcher.ResponseData;
	try {
		const opts = {
			method: 'POST' as const,
			body: init.body,
			headers: init.headers,
			headersTimeout: init.timeoutMs,
			bodyTimeout: init.timeoutMs,
			dispatcher: agentFor(init.timeoutMs),
			[WATCH]: watch
		};
		res = await request(url, opts);
	} catch (e) {
		const err = e as Error & { code?: string; cause?: { code?: string }; address?: string; port?: number };
		const code = err.code ?? err.cause?.code ?? 'network';
		if (code === 'EBLOCKEDADDRESS' || err.cause?.code === 'EBLOCKEDADDRESS') throw blockedAddress(new URL(url).hostname);
		const ambiguous = watch.started;
		// The stored reason names the peer: "connection refused by 127.0.0.1:9", not "transient network".
		const peer = err.address ? `${err.address}:${err.port ?? ''}` : hostOf(url);
		if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
			throw new ChannelError('transient', 'timeout', `No answer within ${init.timeoutMs} ms`, undefined, { ambiguous });
		}
		if (!ambiguous && CONNECT_CODES[code]) {
			throw new ChannelError('transient', CONNECT_CODES[code], `Could not connect: ${CONNECT_WORDS[code]} ${peer} (${code})`, undefined, { ambiguous: false });
		}
		const detail = err.message && err.message !== code ? `${err.message} (${code})` : code;
		throw new ChannelError('transient', code, `Network error with ${peer}: ${detail}${ambiguous ? ' after the request was sent' : ''}`, undefined, { ambiguous });
	}
	const { statusCode, headers, body } = res;
	return {
		status: statusCode,
		ok: statusCode >= 200 && statusCode < 300,
		headers: {
			get(name: string) {
				const v = headers[name.toLowerCase()];
				return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
			}
		},
		text: () => body.text(),
		json: () => body.json()
	};
}

/**
 * The channel's URL leads to an address the policy refuses: nothing was sent, and nothing
 * can be until an admin changes the URL or the setting, so the channel's batches pause
 * (the `auth` class) instead of failing each recipient.
 */
function blockedAddress(host: string) {
	return new ChannelError(
		'auth',
		'blocked_address',
		`The channel's URL leads to a loopback, link-local or private address (${host}); nothing was sent. Change the URL, or set CHANNEL_ALLOW_PRIVATE=1.`
	);
}

function hostOf(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return 'the provider';
	}
}

export function str(config: Record<string, unknown>, key: string, fallback?: string): string {
	const v = config[key];
	if (typeof v === 'string' && v !== '') return v;
	if (fallback !== undefined) return fallback;
	throw new ChannelError('permanent', 'channel_config', `Channel setting "${key}" is missing`);
}
