import type { ErrorRule, ProviderErrorReader } from './http';

/**
 * Twilio's error codes that Batchdesk handles on their own, from Twilio's error
 * dictionary (twilio.com/docs/api/errors). A Messages.json request that fails answers
 * JSON `{ code, message, more_info, status }`; codes not listed here are classed by
 * the HTTP status (channels/http.ts classifyResponse).
 *
 * The 300xx codes are delivery failures: Twilio mostly reports them later, in status
 * callbacks, but an API answer carrying one means the same, so they are here too.
 */
export const TWILIO_ERRORS: Record<number, ErrorRule> = {
	/** Authenticate: the account SID / auth token pair was refused. */
	20003: { errorClass: 'auth' },
	/** Too Many Requests: Twilio's API rate limit, not the recipient's fault. */
	20429: { errorClass: 'rate_limited' },
	/** Invalid 'To' phone number. */
	21211: { errorClass: 'permanent' },
	/** Permission to send an SMS has not been enabled for the region of 'To'. */
	21408: { errorClass: 'permanent' },
	/** The recipient replied STOP: Twilio refuses every message to them from this sender. */
	21610: { errorClass: 'permanent', optedOut: true },
	/** 'To' is not a valid mobile number (a landline, say). */
	21614: { errorClass: 'permanent' },
	/** Unreachable destination handset. */
	30003: { errorClass: 'permanent' },
	/** Message blocked (by the recipient or their carrier). */
	30004: { errorClass: 'permanent' },
	/** Unknown destination handset. */
	30005: { errorClass: 'permanent' },
	/** Landline or unreachable carrier. */
	30006: { errorClass: 'permanent' },
	/** Message filtered by the carrier (spam, content). */
	30007: { errorClass: 'permanent' },
	/** Unknown error reported by the carrier. */
	30008: { errorClass: 'permanent' }
};

type TwilioErrorBody = { code?: unknown; message?: unknown; more_info?: unknown; status?: unknown };

/** Reads Twilio's error body; the item keeps `twilio_<code>` and Twilio's message. */
export const readTwilioError: ProviderErrorReader = (_status, body) => {
	let json: TwilioErrorBody;
	try {
		json = JSON.parse(body) as TwilioErrorBody;
	} catch {
		return undefined;
	}
	const code = Number(json?.code);
	if (!Number.isInteger(code) || code <= 0) return undefined;
	const message = typeof json.message === 'string' && json.message ? json.message : `Twilio error ${code}`;
	return { code: `twilio_${code}`, message: message.slice(0, 400), rule: TWILIO_ERRORS[code] };
};
