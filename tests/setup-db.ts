/**
 * Runs before each test file: clones the migrated template into a database of this
 * file's own, so files run in parallel without seeing each other's rows.
 */
import { afterAll, inject } from 'vitest';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { closeDb } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';

const serverUrl = inject('pgServerUrl');
const template = inject('pgTemplate');
const name = `bdtest_${randomBytes(5).toString('hex')}`;

const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
// CREATE DATABASE … TEMPLATE fails while another session is connected to the template.
for (let attempt = 0; ; attempt++) {
	try {
		await admin.unsafe(`create database ${name} template ${template}`);
		break;
	} catch (e) {
		if (attempt > 20) throw e;
		await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
	}
}
const url = new URL(serverUrl);
url.pathname = `/${name}`;
process.env.DATABASE_URL = url.toString();
process.env.BATCHDESK_TEST_DB = name;
resetEnvCache();

afterAll(async () => {
	await closeDb();
	// Without FORCE first, for up to 2 s: a pool of this file that is still closing (a
	// stopped graphile-worker runner lets go of its connections just after stop()) was cut
	// with 57P01 by FORCE, which its pg client reported as an uncaught error in this process
	// (a clean-clone CI run failed on it after all its tests had passed).
	for (let attempt = 0; attempt < 20; attempt++) {
		const dropped = await admin.unsafe(`drop database if exists ${name}`).then(() => true, () => false);
		if (dropped) break;
		await new Promise((r) => setTimeout(r, 100));
	}
	await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
	await admin.end();
});
