import { ChannelError, type Channel, type ChannelCapabilities, type ChannelRow, type OutgoingMessage } from './types';
import { classifyResponse, post, str } from './http';
import { render } from '../templates/render';
import { readWhatsappError } from './whatsapp-errors';

/** One HTTP call per message, and no idempotency key to make a re-send safe (below). */
export const WHATSAPP_CAPABILITIES: ChannelCapabilities = { batchSend: false, idempotentResend: false };

/**
 * Meta WhatsApp Cloud API: POST {base}/{version}/{phone_number_id}/messages with a
 * bearer token and a JSON text message. No idempotency key: not idempotent.
 */
export function whatsappChannel(row: ChannelRow): Channel {
	const base = str(row.config, 'baseUrl', 'https://graph.facebook.com').replace(/\/+$/, '');
	const version = str(row.config, 'apiVersion', 'v21.0');
	const phoneNumberId = str(row.config, 'phoneNumberId');
	const token = str(row.config, 'accessToken');
	const timeoutMs = Number(row.config.timeoutMs ?? 10_000);
	const template = templateOf(row.config);
	return {
		id: row.id,
		kind: 'whatsapp',
		capabilities: WHATSAPP_CAPABILITIES,
		async send(msg: OutgoingMessage) {
			const body = JSON.stringify({
				messaging_product: 'whatsapp',
				recipient_type: 'individual',
				to: msg.to.replace(/^\+/, ''),
				...(template ? templateMessage(template, msg) : { type: 'text', text: { preview_url: false, body: msg.body } })
			});
			const res = await post(`${base}/${version}/${encodeURIComponent(phoneNumberId)}/messages`, {
				body,
				headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
				timeoutMs
			});
			if (!res.ok) throw await classifyResponse(res, readWhatsappError);
			const json = (await res.json().catch(() => ({}))) as { messages?: { id?: string }[] };
			return json.messages?.[0]?.id ?? '';
		}
	};
}

type TemplateConfig = { name: string; language: string; params: string[] };

/** The channel's template (config templateName, templateLanguage, templateParams), if it sends one. */
function templateOf(config: Record<string, unknown>): TemplateConfig | null {
	const name = str(config, 'templateName', '');
	if (!name) return null;
	const params = Array.isArray(config.templateParams) ? config.templateParams.map(String) : [];
	return { name, language: str(config, 'templateLanguage'), params };
}

/**
 * A template message in the Cloud API's shape. Business-initiated messages outside the
 * customer's 24-hour window must be approved templates, so a channel with templateName
 * sends one instead of `msg.body`: each of templateParams ("{{name}}", "{{city|there}}")
 * is rendered for the contact and fills {{1}}, {{2}}… of the template's body in order.
 * An empty parameter would be refused by Meta for every such recipient: it fails here,
 * before the call, naming the missing variables.
 */
export function templateMessage(t: TemplateConfig, msg: OutgoingMessage) {
	const missing: string[] = [];
	const texts = t.params.map((p) => {
		const r = render(p, msg.contact ?? { phone: msg.to });
		missing.push(...r.missing);
		// Meta refuses parameters with newlines, tabs or more than four spaces in a row
		// (attributes may hold them): one space each, so the recipient still gets it.
		return r.text.replace(/\s+/g, ' ').trim();
	});
	if (missing.length || texts.some((x) => x.trim() === '')) {
		const names = missing.length ? missing.join(', ') : 'an empty value';
		throw new ChannelError('permanent', 'template_param_missing', `Template parameter without a value: ${names}`);
	}
	return {
		type: 'template',
		template: {
			name: t.name,
			language: { code: t.language },
			...(texts.length ? { components: [{ type: 'body', parameters: texts.map((text) => ({ type: 'text', text })) }] } : {})
		}
	};
}
