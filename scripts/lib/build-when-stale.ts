/**
 * One way to get a fresh `build/` for everything that runs the built app outside `npm
 * start` (end-to-end tests, chaos scenarios, benches): build when missing or older than
 * its sources, under a lock, and look again once the lock is held — test files run in
 * parallel, and a second build started while a server runs from `build/` would replace
 * the modules it still loads on demand (seen: ERR_MODULE_NOT_FOUND for a route).
 */
import { execFile as execFileCb, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsStale } from './build-freshness';

const execFile = promisify(execFileCb);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LOCK = path.join(os.tmpdir(), 'batchdesk-vite-build.lock');

export async function ensureBuild(root = ROOT): Promise<void> {
	if (!buildIsStale(root)) return;
	await execFile('flock', [LOCK, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--locked', root], {
		cwd: root,
		timeout: 300_000,
		maxBuffer: 64 * 1024 * 1024
	}).catch((e: { stdout?: string; stderr?: string }) => {
		throw new Error(`vite build failed:\n${e.stdout ?? ''}\n${e.stderr ?? e}`);
	});
}

// Run by ensureBuild under the lock: another process may have built meanwhile.
if (process.argv[2] === '--locked') {
	const root = process.argv[3];
	if (buildIsStale(root)) {
		const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
			cwd: root,
			stdio: 'inherit'
		});
		process.exit(r.status ?? 1);
	}
}
