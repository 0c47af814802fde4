/**
 * Headless Chromium for end-to-end tests, driven by playwright-core against the
 * system browser (`playwright install` cannot download here). Installs the Debian
 * package on first use when running as root; otherwise says how to get it.
 */
import { execFile as execFileCb } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const execFile = promisify(execFileCb);

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A Chinese font, so pages in Chinese render (and screenshot) as text, not boxes. */
const CJK_FONT = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';

const INSTALL_LOCK = path.join(os.tmpdir(), 'batchdesk-chromium-install.lock');

/** Chromium (and, as root, the font) in place: nothing to install. */
function ready(root: boolean) {
	return fs.existsSync(CHROMIUM) && (fs.existsSync(CJK_FONT) || Boolean(process.env.CHROMIUM_PATH) || !root);
}

export async function ensureChromium() {
	const root = os.userInfo().uid === 0;
	// The font is a nicety: without root, a present Chromium is used as it is.
	if (ready(root)) return;
	if (!root) {
		throw new Error(
			`Chromium is missing at ${CHROMIUM}. Install it once as root (apt-get install -y chromium) ` +
				'or set CHROMIUM_PATH to a Chromium binary; the end-to-end tests need it.'
		);
	}
	// Two test files at a time both reach here on a fresh machine (two apt-gets at once: the
	// second failed on dpkg's lock in a clean CI). One installs under a lock, as the build
	// does (scripts/lib/build-when-stale.ts); the other waits for it and looks again under
	// the lock. About 80 s on these machines; the e2e hookTimeout allows for it. Async, so
	// the test worker stays responsive meanwhile. apt also waits for a lock held by others.
	const install =
		'[ -e "$1" ] && [ -e "$2" ] && exit 0; apt-get -o DPkg::Lock::Timeout=300 update && ' +
		'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y chromium fonts-wqy-microhei';
	await execFile('flock', [INSTALL_LOCK, 'sh', '-c', install, 'sh', CHROMIUM, CJK_FONT], {
		timeout: 600_000,
		maxBuffer: 64 * 1024 * 1024
	}).catch((e: { stderr?: string }) => {
		throw new Error(`Installing Chromium with apt-get failed:\n${e.stderr ?? e}`);
	});
	if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get finished but ${CHROMIUM} is still missing`);
}

const ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync'
];

/**
 * A fresh browser profile in a temp folder; close() removes it. `locale` is the browser's
 * language (Accept-Language and navigator.languages): English unless a test asks for
 * zh-CN, so the tests that read English text get the English console whatever the machine's.
 */
export async function launchBrowser(opts: { locale?: string; javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
	await ensureChromium();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-chromium-'));
	const context = await chromium.launchPersistentContext(dir, {
		executablePath: CHROMIUM,
		headless: true,
		locale: opts.locale ?? 'en-US',
		javaScriptEnabled: opts.javaScriptEnabled ?? true,
		args: ARGS
	});
	return {
		context,
		async close() {
			await context.close().catch(() => {});
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

/** One headless Chromium for many contexts (each its own cookies and locale). */
export async function launchChromium(): Promise<Browser> {
	await ensureChromium();
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}
