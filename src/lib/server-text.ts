import { m } from '$lib/i18n';

/**
 * The server says what went wrong in English (import rows' reasons, validation and
 * precondition messages: the API's words, which scripts and logs read). The console
 * shows the ones it knows in the reader's language; anything else as the server said it.
 */
const PATTERNS: [RegExp, (g: string[]) => string][] = [
	[/^phone is empty$/, () => m.srv_phone_empty()],
	[/^phone contains letters or symbols$/, () => m.srv_phone_letters()],
	[/^phone number is too short$/, () => m.srv_phone_short()],
	[/^phone number is too long$/, () => m.srv_phone_long()],
	[/^phone number has an invalid length$/, () => m.srv_phone_length()],
	[/^phone number has an unknown country code$/, () => m.srv_phone_country()],
	[/^not a phone number$/, () => m.srv_phone_not()],
	[/^phone has no \+country code and no default country was given$/, () => m.srv_phone_no_country()],
	[/^not a valid phone number for (.+)$/, ([where]) => m.srv_phone_invalid_for({ where })],
	[/^not a valid phone number$/, () => m.srv_phone_invalid()],
	[/^row has (\d+) cells but the header has (\d+)$/, ([cells, width]) => m.srv_row_cells({ cells, width })],
	[/^name is longer than (\d+) characters$/, ([max]) => m.srv_name_long({ max })],
	[/^tag "(.*)" is longer than (\d+) characters$/, ([tag, max]) => m.srv_tag_long({ tag, max })],
	[/^(.+) is longer than (\d+) characters$/, ([key, max]) => m.srv_value_long({ key, max })],
	[/^same phone as row (\d+)$/, ([row]) => m.srv_same_phone({ row })],
	[/^merged into row (\d+) \(same phone\)$/, ([row]) => m.srv_merged({ row })],
	[/^Give at least one tag$/, () => m.srv_one_tag()],
	[/^At most (\d+) tags at once$/, ([max]) => m.srv_max_tags({ max })],
	[/^Pick at least one contact$/, () => m.srv_pick_contact()],
	[/^No failed items with a retryable error\.$/, () => m.srv_no_retryable()],
	[/^No items with an unknown outcome\.$/, () => m.srv_no_unknown()],
	// Send items' errors (the provider's own words after the colon stay as they came).
	[/^Contact opted out$/, () => m.srv_opted_out()],
	[/^Contact was deleted$/, () => m.srv_contact_deleted()],
	[/^No such contact$/, () => m.srv_no_contact()],
	[/^Provider error (\d+): ([\s\S]*)$/, ([status, detail]) => m.srv_provider_error({ status, detail })],
	[/^Rejected \((\d+)\): ([\s\S]*)$/, ([status, detail]) => m.srv_rejected({ status, detail })],
	[/^Rate limited: ([\s\S]*)$/, ([detail]) => m.srv_rate_limited({ detail })]
];

export function serverText(text: string | null | undefined): string {
	if (!text) return '';
	for (const [re, say] of PATTERNS) {
		const g = re.exec(text);
		if (g) return say(g.slice(1));
	}
	return text;
}
