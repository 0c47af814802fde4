import type { ErrorRule, ProviderErrorReader } from './http';

/**
 * WhatsApp Cloud API error codes that Batchdesk handles on their own, from Meta's
 * "WhatsApp error codes" page. The API answers a failed request with a Graph API error:
 * `{ error: { message, type, code, error_subcode, error_data: { messaging_product,
 * details }, fbtrace_id } }`; codes not listed here are classed by the HTTP status
 * (channels/http.ts classifyResponse).
 */
export const WHATSAPP_ERRORS: Record<number, ErrorRule> = {
	/** Access token expired or invalidated (HTTP 401). */
	190: { errorClass: 'auth' },
	/** Cloud API throughput reached for the business number. */
	130429: { errorClass: 'rate_limited' },
	/** Undeliverable: not a WhatsApp number, terms not accepted, outdated client. */
	131026: { errorClass: 'permanent' },
	/** Re-engagement: more than 24 hours since the user last wrote; only a template may go. */
	131047: { errorClass: 'permanent' },
	/** Unsupported message type. */
	131051: { errorClass: 'permanent' },
	/**
	 * Pair rate limit: too many messages from this number to this one recipient lately
	 * (about one per 6 s). Only that recipient waits; the rest of the batch goes on.
	 */
	131056: { errorClass: 'rate_limited', retryAfterMs: 6_000 }
};

/** 132000–132999: the template is missing, paused, disabled or its parameters do not fit. */
const TEMPLATE_ERROR: ErrorRule = { errorClass: 'permanent' };

function ruleFor(code: number): ErrorRule | undefined {
	return WHATSAPP_ERRORS[code] ?? (code >= 132000 && code < 133000 ? TEMPLATE_ERROR : undefined);
}

type GraphErrorBody = {
	error?: { message?: unknown; type?: unknown; code?: unknown; error_subcode?: unknown; error_data?: { details?: unknown }; fbtrace_id?: unknown };
};

/**
 * Reads a Graph API error; the item keeps `whatsapp_<code>` and Meta's message, with
 * error_data.details when there is one (it says which parameter or why).
 */
export const readWhatsappError: ProviderErrorReader = (_status, body) => {
	let json: GraphErrorBody;
	try {
		json = JSON.parse(body) as GraphErrorBody;
	} catch {
		return undefined;
	}
	const e = json?.error;
	const code = Number(e?.code);
	if (!e || !Number.isInteger(code) || code <= 0) return undefined;
	const title = typeof e.message === 'string' && e.message ? e.message : `WhatsApp error ${code}`;
	const details = typeof e.error_data?.details === 'string' && e.error_data.details ? e.error_data.details : '';
	const message = details && !title.includes(details) ? `${title}: ${details}` : title;
	return { code: `whatsapp_${code}`, message: message.slice(0, 400), rule: ruleFor(code) };
};
