import { Metadata, parsePhoneNumberFromString, validatePhoneNumberLength, type CountryCode, type NumberingPlan } from 'libphonenumber-js/core';
// "min" metadata: validates by number length and leading digits per country, which
// is what an importer needs, at a fraction of the "max" metadata's size and cost.
import metadata from 'libphonenumber-js/min/metadata';

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

const LENGTH_REASON: Record<string, string> = {
	TOO_SHORT: 'phone number is too short',
	TOO_LONG: 'phone number is too long',
	INVALID_LENGTH: 'phone number has an invalid length',
	INVALID_COUNTRY: 'phone number has an unknown country code',
	NOT_A_NUMBER: 'not a phone number'
};

/**
 * Keeps the digits and a leading + (or 00 international prefix as written), dropping
 * spaces, dots, dashes and brackets: libphonenumber parses the cleaned string ~20%
 * faster than the raw one, and normalisation is the import's CPU bottleneck.
 * Returns null when letters are present (a phone number with text in it is rejected,
 * not silently mangled).
 */
const SEPARATORS = /[\s\-.()/\u00a0]+/g;
const DIGITS = /^\+?\d*$/;

function clean(raw: string): string | null {
	// Native regex work instead of a char-by-char string build: this runs once per imported row.
	const out = DIGITS.test(raw) ? raw : raw.replace(SEPARATORS, '');
	return DIGITS.test(out) ? out : null;
}

type RawMetadata = {
	country_calling_codes: Record<string, string[]>;
	/** Calling codes of no country (+800, +979…), each with its own numbering plan. */
	nonGeographic?: Record<string, unknown>;
	countries: Record<string, [string, string?, string?, number[]?, unknown?, string?, unknown?, (string | 0)?]>;
};
// libphonenumber-js types a country's plan as any[] (a minified array) under CountryCode keys: RawMetadata
// gives the positions this file reads ([0] calling code, [1] IDD prefix, [5] national prefix, [7] national prefix for parsing).
const raw: RawMetadata = {
	country_calling_codes: metadata.country_calling_codes,
	nonGeographic: metadata.nonGeographic,
	countries: metadata.countries as RawMetadata['countries']
};
const startsWith = new Map<string, RegExp | null>();

/** ^(national prefix for parsing) and ^(IDD prefix) of a country, compiled once. */
function prefixRegex(country: string, kind: 'national' | 'idd'): RegExp | null {
	const key = `${kind}:${country}`;
	let re = startsWith.get(key);
	if (re === undefined) {
		const entry = raw.countries[country];
		const src = kind === 'idd' ? entry?.[1] : entry?.[7] || entry?.[5];
		re = src ? new RegExp(`^(?:${src})`) : null;
		startsWith.set(key, re);
	}
	return re;
}

/**
 * The calling code (1-3 digits) a +number starts with: a country's, or with
 * `nonGeographic` also one of no country (+800, +979…).
 */
function callingCodeOf(digits: string, nonGeographic = false): string | undefined {
	for (let l = 1; l <= 3; l++) {
		const cc = digits.slice(1, 1 + l);
		if (raw.country_calling_codes[cc] || (nonGeographic && raw.nonGeographic?.[cc])) return cc;
	}
	return undefined;
}

/**
 * The fast path: split the cleaned digits into calling code and national number
 * ourselves and validate it against the numbering plan directly, skipping parse()'s text
 * extraction and country guessing (3-5x faster). Only taken when no prefix could
 * need stripping (IDD, national/trunk prefix) and the number is valid for the
 * calling code's main country (or the default country); anything else goes to the
 * full parser, which stays the authority (phone.test.ts checks both agree).
 */
function fastE164(digits: string, defaultCountry?: string): string | null {
	let cc: string | undefined;
	let country: string | undefined;
	let national: string;
	if (digits.charCodeAt(0) === 43) {
		cc = callingCodeOf(digits);
		if (!cc) return null;
		country = raw.country_calling_codes[cc][0];
		national = digits.slice(1 + cc.length);
	} else {
		if (!defaultCountry || !raw.countries[defaultCountry]) return null;
		country = defaultCountry;
		cc = raw.countries[country][0];
		if (prefixRegex(country, 'idd')?.test(digits)) return null;
		national = digits;
	}
	if (!national || prefixRegex(country, 'national')?.test(national)) return null;
	// The country's own plan: a number of a sibling country sharing the calling code
	// (CA under +1, JE under +44) fails here and goes to the full parser.
	return validatorFor(country)(national) ? `+${cc}${national}` : null;
}

/** The number types isValid() tries after FIXED_LINE (libphonenumber-js helpers/getNumberType.js). */
const NUMBER_TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];
type PlanType = { pattern(): string; possibleLengths(): number[] | undefined };
type Plan = { nationalNumberPattern(): string; hasTypes(): boolean; type(t: string): PlanType | undefined };
const validators = new Map<string, (national: string) => boolean>();

/**
 * PhoneNumber.isValid() of a numbering plan, with its regexes compiled once: the
 * library compiles a new RegExp on every match (helpers/matchesEntirely.js), which
 * was half the importer's normalisation CPU. Same rule: the national number matches
 * the plan's pattern and, where the plan has type patterns, one of them (with its
 * possible lengths). phone.test.ts checks the fast path against the full parser.
 */
function validatorFor(plan: string): (national: string) => boolean {
	let v = validators.get(plan);
	if (v) return v;
	const m = new Metadata(metadata);
	m.selectNumberingPlan(plan as CountryCode);
	// The plan's pattern and type accessors exist but are missing from libphonenumber-js's NumberingPlan type.
	const p = m.numberingPlan as NumberingPlan & Plan;
	const whole = (src: string) => new RegExp(`^(?:${src})$`);
	const general = whole(p.nationalNumberPattern());
	if (!p.hasTypes()) v = (national) => general.test(national);
	else {
		const types = NUMBER_TYPES.map((t) => p.type(t))
			.filter((t): t is PlanType => !!t && !!t.pattern())
			.map((t) => ({ re: whole(t.pattern()), lengths: t.possibleLengths() }));
		v = (national) =>
			general.test(national) && types.some((t) => (!t.lengths || t.lengths.includes(national.length)) && t.re.test(national));
	}
	validators.set(plan, v);
	return v;
}

/**
 * Normalises a phone number to E.164. Numbers without +country code use
 * `defaultCountry` (its national and international prefixes included, e.g. 0086… or
 * 0138… for CN). Every refusal says why, for the import's per-row report.
 */
export function normalisePhone(input: string, defaultCountry?: string): PhoneResult {
	const text = input.trim();
	if (!text) return { ok: false, reason: 'phone is empty' };
	const digits = clean(text);
	if (digits === null) return { ok: false, reason: 'phone contains letters or symbols' };
	const bare = digits.startsWith('+') ? digits.slice(1) : digits;
	if (bare.length < 3) return { ok: false, reason: 'phone number is too short' };
	if (bare.length > 17) return { ok: false, reason: 'phone number is too long' };
	const international = digits.startsWith('+');
	if (!international && !defaultCountry) {
		return { ok: false, reason: 'phone has no +country code and no default country was given' };
	}
	const fast = fastE164(digits, defaultCountry);
	if (fast) return { ok: true, e164: fast };
	// No calling code starts the number: what the parser would conclude, without its
	// two passes and their thrown errors.
	if (international && !callingCodeOf(digits, true)) return { ok: false, reason: LENGTH_REASON.INVALID_COUNTRY };
	const country = international ? undefined : (defaultCountry as CountryCode);
	// The parser throws (and catches) a ParseError for every number it refuses; capturing
	// each one's stack trace was most of the cost of a file's invalid rows. This call is
	// synchronous, so the limit is restored before anything else runs.
	const limit = Error.stackTraceLimit;
	Error.stackTraceLimit = 0;
	let parsed: ReturnType<typeof parsePhoneNumberFromString>;
	try {
		parsed = parsePhoneNumberFromString(digits, country ? { defaultCountry: country } : {}, metadata);
	} finally {
		Error.stackTraceLimit = limit;
	}
	if (parsed && parsed.isValid()) return { ok: true, e164: parsed.number };
	const problem = validatePhoneNumberLength(digits, country ? { defaultCountry: country } : {}, metadata);
	if (problem) return { ok: false, reason: LENGTH_REASON[problem] ?? 'not a valid phone number' };
	const where = parsed?.country ?? country;
	return { ok: false, reason: where ? `not a valid phone number for ${where}` : 'not a valid phone number' };
}

/** The full parser alone (no fast path): the reference the fast path is tested against. */
export function normaliseWithParserOnly(input: string, defaultCountry?: string): string | null {
	const digits = clean(input.trim());
	if (!digits) return null;
	const international = digits.startsWith('+');
	if (!international && !defaultCountry) return null;
	const p = parsePhoneNumberFromString(digits, international ? {} : { defaultCountry: defaultCountry as CountryCode }, metadata);
	return p && p.isValid() ? p.number : null;
}

/** E.164 fits a double exactly (at most 15 digits), which keeps the importer's in-file duplicate map small. */
export function e164Key(e164: string): number | string {
	if (e164.length > 16) return e164;
	// Digits summed by hand: no substring and no number parsing per imported row.
	let k = 0;
	for (let i = 1; i < e164.length; i++) k = k * 10 + (e164.charCodeAt(i) - 48);
	return k;
}
