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
	await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
	await admin.end();
});
