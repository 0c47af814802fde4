/**
 * `npm run test:chaos [-- e f …]`: runs the fault scenarios of chaos/scenarios in letter
 * order (or only those whose letters or file names are given), prints each one's figures
 * and a PASS/FAIL line, and ends with one JSON line
 *   {"chaos":"batchdesk","scenarios":N,"failed":K,"seconds":S,"results":{…}}
 * exiting 1 when any failed. A scenario file is chaos/scenarios/<letter>-<slug>.ts whose
 * default export is a Scenario (chaos/lib/scenario.ts). Not part of `npm test`: it takes
 * minutes and the whole machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Scenario, ScenarioResult } from './lib/scenario';
import { closeDb } from '../src/lib/server/db/client';

// The fake providers listen on 127.0.0.1, which channels refuse outside development
// (scenario d runs its worker in this process; chaos/lib's children get it too).
process.env.CHANNEL_ALLOW_PRIVATE ??= '1';

const dir = path.join(import.meta.dirname, 'scenarios');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = fs
	.readdirSync(dir)
	.filter((f) => /^[a-z]-[\w-]+\.ts$/.test(f))
	.sort()
	.filter((f) => wanted.length === 0 || wanted.some((w) => f === w || f.startsWith(`${w}-`) || f.replace(/\.ts$/, '') === w));

// A scenario's stray rejection (a late socket error) must fail that scenario, not end the run.
let stray: unknown[] = [];
process.on('unhandledRejection', (e) => stray.push(e));
process.on('uncaughtException', (e) => stray.push(e));

const results: Record<string, ScenarioResult & { name: string; seconds: number }> = {};
const t0 = Date.now();
for (const file of files) {
	const key = file.replace(/\.ts$/, '');
	const started = Date.now();
	let scenario: Scenario;
	let result: ScenarioResult;
	stray = [];
	try {
		scenario = (await import(pathToFileURL(path.join(dir, file)).href)).default as Scenario;
		if (!scenario || typeof scenario.run !== 'function') throw new Error(`${file} has no default export { name, run() }`);
		console.log(`\n=== ${key}: ${scenario.name}`);
		result = await scenario.run();
	} catch (e) {
		scenario ??= { name: key, run: async () => ({ pass: false, figures: {} }) };
		result = { pass: false, figures: {}, detail: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
	}
	if (stray.length) {
		result = { ...result, pass: false, detail: [result.detail, `unhandled in the runner: ${stray.map(String).join('; ')}`].filter(Boolean).join('; ') };
	}
	await closeDb().catch(() => {});
	const seconds = Math.round((Date.now() - started) / 100) / 10;
	results[key] = { name: scenario.name, seconds, ...result };
	for (const [k, v] of Object.entries(result.figures)) console.log(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
	console.log(`${result.pass ? 'PASS' : 'FAIL'} ${key} (${seconds} s)${result.detail ? `: ${result.detail}` : ''}`);
}

const failed = Object.values(results).filter((r) => !r.pass).length;
console.log(
	JSON.stringify({
		chaos: 'batchdesk',
		scenarios: files.length,
		failed,
		seconds: Math.round((Date.now() - t0) / 1000),
		results
	})
);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
