/**
 * The channel form of the settings page, kept pure so the patch it sends is tested
 * without a browser. Config values are edited as text: numbers as digits, lists one
 * entry per line; secrets are write-only (the server never sends them back).
 */
export type ChannelKindName = 'sandbox' | 'webhook' | 'twilio' | 'whatsapp';
export type Field = { key: string; label: string; secret?: boolean; number?: boolean; list?: boolean };

export const FIELDS: Record<ChannelKindName, Field[]> = {
	sandbox: [
		{ key: 'latencyMs', label: 'Simulated latency per slice (ms)', number: true },
		{ key: 'failureRate', label: 'Simulated failure rate (0–1)', number: true }
	],
	webhook: [
		{ key: 'url', label: 'URL (POST JSON)' },
		{ key: 'secret', label: 'Signing secret (Standard Webhooks; whsec_… recommended)', secret: true },
		{ key: 'timeoutMs', label: 'Timeout (ms)', number: true }
	],
	twilio: [
		{ key: 'baseUrl', label: 'Base URL (default https://api.twilio.com)' },
		{ key: 'accountSid', label: 'Account SID' },
		{ key: 'authToken', label: 'Auth token', secret: true },
		{ key: 'from', label: 'From number (or a Messaging Service below)' },
		{ key: 'messagingServiceSid', label: 'Messaging Service SID (MG…, used instead of From)' },
		{ key: 'timeoutMs', label: 'Timeout (ms)', number: true }
	],
	whatsapp: [
		{ key: 'baseUrl', label: 'Base URL (default https://graph.facebook.com)' },
		{ key: 'apiVersion', label: 'API version (default v21.0)' },
		{ key: 'phoneNumberId', label: 'Phone number id' },
		{ key: 'accessToken', label: 'Access token', secret: true },
		{ key: 'verifyToken', label: 'Webhook verify token (receipts)', secret: true },
		{ key: 'appSecret', label: 'App secret (X-Hub-Signature-256)', secret: true },
		{ key: 'templateName', label: 'Template name (empty: send the text as is)' },
		{ key: 'templateLanguage', label: 'Template language (e.g. en_US)' },
		{ key: 'templateParams', label: 'Template body parameters, one per line ({{name}}, {{city|there}})', list: true },
		{ key: 'timeoutMs', label: 'Timeout (ms)', number: true }
	]
};

/** The keys naming where a kind's requests go: changing one needs the kind's secrets again. */
export const HOST_KEYS = ['url', 'baseUrl'];

/** A stored config as the form's text values. */
export function configToForm(config: Record<string, unknown>): Record<string, string> {
	return Object.fromEntries(
		Object.entries(config).map(([k, v]) => [k, Array.isArray(v) ? v.map(String).join('\n') : String(v ?? '')])
	);
}

function parse(f: Field, text: string): string | number | string[] {
	if (f.number) return Number(text);
	if (f.list) return text.split('\n').map((s) => s.trim()).filter(Boolean);
	return text;
}

/** The config of a new channel (or of one changing kind): every filled-in field. */
export function fullConfig(kind: ChannelKindName, form: Record<string, string>) {
	const out: Record<string, string | number | string[]> = {};
	for (const f of FIELDS[kind]) {
		const v = (form[f.key] ?? '').trim();
		if (v) out[f.key] = parse(f, v);
	}
	return out;
}

/**
 * The config part of channels.update: only the fields whose text changed. A field
 * emptied is null (removes the key); a secret is sent only when typed (empty keeps the
 * stored one) or null when `clear` names it.
 */
export function configPatch(
	kind: ChannelKindName,
	before: Record<string, string>,
	form: Record<string, string>,
	clear: string[] = []
) {
	const out: Record<string, string | number | string[] | null> = {};
	for (const f of FIELDS[kind]) {
		const v = (form[f.key] ?? '').trim();
		if (f.secret) {
			if (v) out[f.key] = v;
			else if (clear.includes(f.key)) out[f.key] = null;
			continue;
		}
		if (v === (before[f.key] ?? '').trim()) continue;
		out[f.key] = v ? parse(f, v) : null;
	}
	return out;
}
