/**
 * `npm run test:e2e`: the console in headless Chromium, as an admin, an operator and a
 * viewer, in Chinese and English. Starts the app as users do (`npm start`: embedded
 * PostgreSQL in a fresh folder, migrations, web, worker), a fake SMS provider for the
 * channels, then runs every flow of tests/e2e/flows in order. A failed flow is reported
 * with its name and error and the run goes on; the process exits 1 if any failed.
 * Ends with one JSON line on stdout.
 */
import fs from 'node:fs';
import { startStack } from './app';
import { launchChromium } from './browser';
import { startFakeProvider, recipientOf } from '../fake-provider';
import { Ctx, LANGS, SHOTS, type Role, type Creds } from './harness';
import { FLOWS } from './flows';

const started = Date.now();
const log = (line: string) => process.stderr.write(`${line}\n`);

const USERS: Record<Role, Creds> = {
	admin: { email: 'admin@e2e.test', password: 'e2e admin password' },
	operator: { email: 'operator@e2e.test', password: 'e2e operator password' },
	viewer: { email: 'viewer@e2e.test', password: 'e2e viewer password' }
};

const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;

fs.rmSync(SHOTS, { recursive: true, force: true });
const answers = new Map<string, 'ok' | 'fail' | 'reject'>();
const provider = await startFakeProvider((_n, req) => {
	let to = '';
	try {
		to = req.path.includes('/Messages.json') ? recipientOf(req) : (JSON.parse(req.body) as { to: string }).to;
	} catch {
		/* not a send */
	}
	const answer = answers.get(to);
	if (answer === 'fail') return { kind: 'status', status: 500, body: '{"error":"provider down for this number"}' };
	if (answer === 'reject') return { kind: 'status', status: 400, body: '{"error":"invalid recipient"}' };
	return { kind: 'ok' };
});
log('e2e: starting the app (npm start: embedded PostgreSQL, migrations, web, worker)…');
const stack = await startStack({
	admin: USERS.admin,
	// Quick retries, so a send's failures are final within seconds; small import chunks, so an import runs long enough to pause.
	env: { SEND_RETRY_BASE_MS: '20', IMPORT_CHUNK_ROWS: '2000' }
});
log(`e2e: app up at ${stack.url} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
const browser = await launchChromium();
const ctx = new Ctx(stack.url, browser, USERS, provider, answers);

const failures: { name: string; error: string }[] = [];
let ran = 0;
try {
	for (const flow of FLOWS) {
		if (only && !only.test(flow.name)) continue;
		ran++;
		ctx.problems.length = 0;
		ctx.allowed = [];
		const t0 = Date.now();
		let error: string | null = null;
		try {
			await flow.run(ctx);
		} catch (e) {
			error = e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 4).join('\n') : String(e);
		}
		if (!error && ctx.problems.length) error = ctx.problems.slice(0, 5).join('\n');
		const secs = ((Date.now() - t0) / 1000).toFixed(1);
		if (error) {
			failures.push({ name: flow.name, error });
			log(`✗ ${flow.name} (${secs} s)\n    ${error.replace(/\n/g, '\n    ')}`);
		} else log(`✓ ${flow.name} (${secs} s)`);
	}
} finally {
	await browser.close().catch(() => {});
	await stack.stop();
	await provider.close();
}

const serious = ctx.violations;
if (serious.length) {
	log(`\naxe: ${serious.length} serious or critical violation(s):`);
	for (const v of serious) log(`  [${v.lang}] ${v.page}: ${v.id} (${v.impact}) ${v.help} — ${v.targets.join(' | ')}`);
}
if (failures.length) {
	log(`\n${failures.length} flow(s) failed:`);
	for (const f of failures) log(`  ✗ ${f.name}: ${f.error.split('\n')[0]}`);
}
log(`\ne2e: ${ran} flows, ${ctx.audited.size} page checks, screenshots in ${SHOTS}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(
	JSON.stringify({ e2e: 'console', flows: ran, failed: failures.length, axeSerious: serious.length, languages: LANGS })
);
process.exit(failures.length || serious.length ? 1 : 0);
