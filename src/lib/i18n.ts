/**
 * The console's languages: the compiled messages (`m`), the current locale, and the
 * locale-aware number, date and list formatting every page uses.
 */
import { getLocale, setLocale, locales, type Locale } from '$lib/paraglide/runtime';
import { m } from '$lib/paraglide/messages';
export { m };
import { formatRate } from '$lib/components/rate-meter';
export { getLocale, setLocale, locales, type Locale };

/** The names the language switch shows, each in its own language. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' };

/** 48,500 / 48,500 (grouped per locale). */
export function num(n: number | null | undefined, maximumFractionDigits = 1): string {
	if (n === null || n === undefined || !Number.isFinite(n)) return '—';
	return n.toLocaleString(getLocale(), { maximumFractionDigits });
}

/** A date and time in the reader's language, or — when there is none. */
export function dateTime(d: string | number | Date | null | undefined): string {
	if (d === null || d === undefined || d === '') return '—';
	return new Date(d).toLocaleString(getLocale());
}

/** "a, b and c" / "a、b和c". */
export function list(items: string[]): string {
	return new Intl.ListFormat(getLocale(), { type: 'conjunction' }).format(items);
}

/** "1 h 02 min" style duration in the reader's language. */
export function duration(ms: number): string {
	if (!Number.isFinite(ms) || ms <= 0) return m.dur_instant();
	const s = Math.round(ms / 1000);
	if (s < 60) return m.dur_s({ s });
	const min = Math.floor(s / 60);
	if (min < 60) return m.dur_min_s({ m: min, s: String(s % 60).padStart(2, '0') });
	const h = Math.floor(min / 60);
	if (h < 48) return m.dur_h_min({ h, m: String(min % 60).padStart(2, '0') });
	return m.dur_d_h({ d: Math.floor(h / 24), h: h % 24 });
}

/** A role's name in the reader's language. */
export function roleName(role: string): string {
	return role === 'admin' ? m.role_admin() : role === 'operator' ? m.role_operator() : role === 'viewer' ? m.role_viewer() : role;
}

/** "24,310/s", "30/min" in the reader's language. */
export function rate(perSecond: number | null): string {
	const s = formatRate(perSecond, getLocale());
	if (getLocale() !== 'zh-CN') return s;
	return s.replace(/\/s$/, '/秒').replace(/\/min$/, '/分钟').replace(/\/h$/, '/小时');
}

const STATUS: Record<string, () => string> = {
	PENDING: m.status_pending,
	PROCESSING: m.status_processing,
	PAUSED: m.status_paused,
	COMPLETED: m.status_completed,
	FAILED: m.status_failed,
	CANCELLED: m.status_cancelled
};
/** A batch status (PENDING, …) in the reader's language. */
export function statusName(status: string): string {
	return STATUS[status]?.() ?? status;
}

const TYPE: Record<string, () => string> = { IMPORT: m.type_import, SEND: m.type_send, TAG: m.type_tag, DELETE: m.type_delete, UNDO: m.type_undo };
/** A batch type (IMPORT, SEND, TAG, DELETE, UNDO) in the reader's language. */
export function typeName(type: string): string {
	return TYPE[type]?.() ?? type;
}

const ITEM: Record<string, () => string> = {
	pending: m.item_pending,
	sending: m.item_sending,
	sent: m.item_sent,
	done: m.item_done,
	failed: m.item_failed,
	skipped: m.item_skipped,
	cancelled: m.item_cancelled,
	unknown: m.item_unknown
};
/** An item status (sent, failed, …) in the reader's language. */
export function itemStatusName(status: string): string {
	return ITEM[status]?.() ?? status;
}

const DELIVERY: Record<string, () => string> = {
	delivered: m.detail_delivered,
	read: m.detail_read,
	undelivered: m.detail_undelivered,
	failed: m.item_failed
};
/** A provider's delivery receipt on an item (delivered, read, …) in the reader's language. */
export function deliveryName(delivery: string): string {
	return DELIVERY[delivery]?.() ?? delivery;
}

/** "China" / "中国" for a region code, or the code when the runtime has no name for it. */
export function regionName(code: string): string {
	try {
		return new Intl.DisplayNames([getLocale()], { type: 'region' }).of(code) ?? code;
	} catch {
		return code;
	}
}

/** A channel kind (sandbox, webhook, twilio, whatsapp) as the reader calls it. */
export function kindName(kind: string): string {
	return kind === 'sandbox' ? m.ch_kind_sandbox() : kind === 'webhook' ? m.ch_kind_webhook() : kind === 'twilio' ? 'Twilio' : kind === 'whatsapp' ? 'WhatsApp Cloud API' : kind;
}
