/**
 * Starts one throwaway PostgreSQL for the whole run (unless TEST_DATABASE_URL names a
 * server to use), migrates a template database once, and hands its address to the
 * test files, each of which clones the template into a database of its own.
 */
import type { TestProject } from 'vitest/node';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/lib/free-port';
import postgres from 'postgres';
import { disableEmbeddedExitHook, startEmbedded } from '../src/lib/server/db/embedded';
import { migrateDatabase } from '../src/lib/server/db/migrate';

declare module 'vitest' {
	export interface ProvidedContext {
		pgServerUrl: string;
		pgTemplate: string;
	}
}

const TEMPLATE = 'batchdesk_test_template';


function withDatabase(url: string, name: string) {
	const u = new URL(url);
	u.pathname = `/${name}`;
	return u.toString();
}

export default async function setup(project: TestProject) {
	let stop = async () => {};
	let serverUrl = process.env.TEST_DATABASE_URL;
	if (!serverUrl) {
		// Its beforeExit hook calls process.exit(0), which would turn a failed run green.
		disableEmbeddedExitHook();
		// os.tmpdir() is reachable by the `postgres` OS user that runs the server under root.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-test-pg-'));
		fs.chmodSync(dir, 0o755);
		const port = await freePort();
		const pg = await startEmbedded({ dir: path.join(dir, 'data'), port, persistent: false });
		serverUrl = pg.url('postgres');
		stop = async () => {
			await pg.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		};
	}
	const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
	await admin.unsafe(`drop database if exists ${TEMPLATE} with (force)`);
	await admin.unsafe(`create database ${TEMPLATE}`);
	await migrateDatabase(withDatabase(serverUrl, TEMPLATE));
	await admin.end();

	project.provide('pgServerUrl', serverUrl);
	project.provide('pgTemplate', TEMPLATE);
	return async () => {
		const a = postgres(serverUrl!, { max: 1, onnotice: () => {} });
		await a.unsafe(`drop database if exists ${TEMPLATE} with (force)`).catch(() => {});
		await a.end();
		await stop();
	};
}
