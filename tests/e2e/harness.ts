/**
 * What the console's end-to-end flows share: signed-in pages per role and language,
 * the console's own words in either language (from messages/*.json), an accessibility
 * check (axe-core) and a screenshot of each page, and every console error and page
 * error of every page, which fails the flow it happened in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, Page, Locator } from 'playwright-core';
import { pollUntil } from '../../scripts/lib/poll';
import type { startFakeProvider } from '../fake-provider';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHOTS = path.join(ROOT, 'e2e-screenshots');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export type Lang = 'zh-CN' | 'en';
export const LANGS: Lang[] = ['zh-CN', 'en'];
export type Role = 'admin' | 'operator' | 'viewer';
export type Creds = { email: string; password: string };

const MESSAGES: Record<Lang, Record<string, string>> = {
	'zh-CN': JSON.parse(fs.readFileSync(path.join(ROOT, 'messages/zh-CN.json'), 'utf8')),
	en: JSON.parse(fs.readFileSync(path.join(ROOT, 'messages/en.json'), 'utf8'))
};

/** A message of the console in `lang`, with its {placeholders} filled. */
export function t(lang: Lang, key: string, params: Record<string, string | number> = {}): string {
	const msg = MESSAGES[lang][key];
	if (typeof msg !== 'string') throw new Error(`no message ${key} in ${lang}`);
	return msg.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
}

/** A message's text up to its first placeholder: for matching text that has numbers in it. */
export const tPrefix = (lang: Lang, key: string) => t(lang, key).split('{')[0].trim();

export type Flow = { name: string; run(ctx: Ctx): Promise<void> };

export class FlowError extends Error {}

export function assert(cond: unknown, message: string): asserts cond {
	if (!cond) throw new FlowError(message);
}

/** Waits for fn to return a truthy value (polling); throws with `what` after timeoutMs. */
export function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000): Promise<NonNullable<T>> {
	return pollUntil(fn, {
		timeoutMs,
		everyMs: 100,
		fail: (last) => new FlowError(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
	});
}

export type AxeViolation = { page: string; lang: Lang; id: string; impact: string; help: string; targets: string[] };

export class Ctx {
	readonly problems: string[] = [];
	readonly violations: AxeViolation[] = [];
	readonly audited = new Set<string>();
	/** Console errors the current flow expects (a refused request it provokes). */
	allowed: RegExp[] = [];
	/** What flows hand on to later flows (batch ids, names). */
	readonly state: Record<string, string> = {};
	private sessions = new Map<string, Page>();
	private cookies = new Map<Role, string>();

	constructor(
		readonly url: string,
		readonly browser: Browser,
		readonly users: Record<Role, Creds>,
		readonly provider: Awaited<ReturnType<typeof startFakeProvider>>,
		/** What the fake provider answers: per recipient phone, changed by flows. */
		readonly answers: Map<string, 'ok' | 'fail' | 'reject'>
	) {}

	/** A new page in a fresh context (own cookies) speaking `lang`, watched for errors. */
	async newPage(lang: Lang): Promise<Page> {
		const context = await this.browser.newContext({ locale: lang, bypassCSP: true, viewport: { width: 1280, height: 900 } });
		const page = await context.newPage();
		page.setDefaultTimeout(30_000);
		page.on('console', (msg) => {
			if (msg.type() !== 'error') return;
			const text = `${msg.text()} (${msg.location().url})`;
			if (!this.allowed.some((re) => re.test(text))) this.problems.push(`console error on ${page.url()}: ${text}`);
		});
		// Confirmations (cancel, undo, revoke…) are answered yes; a prompt gets its default.
		page.on('dialog', (d) => void d.accept().catch(() => {}));
		page.on('pageerror', (err) => this.problems.push(`page error on ${page.url()}: ${err.message}`));
		return page;
	}

	/** A page signed in as `role`, speaking `lang` (one per pair, reused across flows). */
	async as(role: Role, lang: Lang): Promise<Page> {
		const key = `${role}:${lang}`;
		const have = this.sessions.get(key);
		if (have && !have.isClosed()) return have;
		const page = await this.newPage(lang);
		const res = await fetch(`${this.url}/api/trpc/auth.login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', origin: this.url },
			body: JSON.stringify({ json: this.users[role] })
		});
		assert(res.ok, `signing in as ${role} answered ${res.status}: ${await res.text()}`);
		const cookie = res.headers.getSetCookie().find((c) => c.startsWith('bd_session='));
		assert(cookie, 'no session cookie');
		const value = cookie.split(';')[0].slice('bd_session='.length);
		this.cookies.set(role, value);
		await page.context().addCookies([{ name: 'bd_session', value, url: this.url, httpOnly: true, sameSite: 'Lax' }]);
		this.sessions.set(key, page);
		return page;
	}

	/** A tRPC mutation over HTTP as `role` (signed in through as() first): to set up data quickly. */
	async mutate<T = unknown>(role: Role, procedure: string, input: unknown): Promise<T> {
		if (!this.cookies.has(role)) await this.as(role, 'en');
		const res = await fetch(`${this.url}/api/trpc/${procedure}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', origin: this.url, cookie: `bd_session=${this.cookies.get(role)}` },
			body: JSON.stringify({ json: input })
		});
		const body = await res.text();
		assert(res.ok, `${procedure} answered ${res.status}: ${body}`);
		return JSON.parse(body).result.data.json as T;
	}

	/** Opens a path and waits for the page to be hydrated. */
	async open(page: Page, p: string) {
		await page.goto(`${this.url}${p}`);
		await hydrated(page);
	}

	/**
	 * axe-core on the page as it is now (serious and critical violations are recorded) and
	 * a full-page screenshot as e2e-screenshots/<lang>/<name>.png.
	 */
	async audit(page: Page, lang: Lang, name: string) {
		await hydrated(page);
		if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
		const result = await page.evaluate(async () => {
			// @ts-expect-error axe is injected above
			const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
			return (r.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[]).map((v) => ({
				id: v.id,
				impact: v.impact,
				help: v.help,
				targets: v.nodes.slice(0, 5).map((n) => n.target.join(' '))
			}));
		});
		for (const v of result) if (v.impact === 'serious' || v.impact === 'critical') this.violations.push({ page: name, lang, ...v });
		this.audited.add(`${lang}:${name}`);
		const file = path.join(SHOTS, lang, `${name}.png`);
		fs.mkdirSync(path.dirname(file), { recursive: true });
		await page.screenshot({ path: file, fullPage: true });
	}
}

export async function hydrated(page: Page) {
	await page.waitForSelector('body[data-hydrated]', { state: 'attached' });
}

/** A button (or link) whose text is one of the console's messages. */
export function button(page: Page | Locator, lang: Lang, key: string, params?: Record<string, string | number>) {
	const text = params ? t(lang, key, params) : t(lang, key);
	return page.getByRole('button', { name: text, exact: true });
}

/** Waits until the page's text includes `text`. */
export async function sees(page: Page, text: string, timeoutMs = 30_000) {
	await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

/** The input, select or textarea inside the label that starts with `text`. */
export function field(scope: Page | Locator, text: string) {
	const esc = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	return scope.locator('label').filter({ hasText: new RegExp(`^\\s*${esc}`) }).locator('input, select, textarea').first();
}

export type Status = 'PENDING' | 'PROCESSING' | 'PAUSED' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

/** Waits for the first status badge on the page (batch panel or detail) to read `status` in `lang`. */
export async function statusIs(page: Page, lang: Lang, status: Status, timeoutMs = 60_000) {
	const word = t(lang, `status_${status.toLowerCase()}`);
	await page.locator('.badge', { hasText: word }).first().waitFor({ timeout: timeoutMs });
}

/** The id of the batch a run panel (import, tags, delete) shows. */
export async function panelBatchId(page: Page): Promise<string> {
	const a = page.locator('section.panel a[href^="/batches/"]').first();
	await a.waitFor();
	return (await a.getAttribute('href'))!.split('/').pop()!;
}

/** Upload a file to the page's file input. */
export async function upload(page: Page, name: string, content: string | Buffer) {
	await page.setInputFiles('input[type=file]', { name, mimeType: 'text/csv', buffer: Buffer.isBuffer(content) ? content : Buffer.from(content) });
}
