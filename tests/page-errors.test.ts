/**
 * A page that fails on the server answers with a reference into the server log, never
 * with the error's own text: here PostgreSQL is killed while a signed-in operator opens
 * /contacts on the built app (`node server.js`), which can then neither check the
 * session nor read a row. The page must not carry the driver's message, the database's
 * address, the failed statement with its parameters (a session's hash) or a stack, and the log line under that reference must have the details.
 * Once PostgreSQL is back, the same request answers the page again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { closeDb } from '../src/lib/server/db/client';
import { resetEnvCache } from '../src/lib/server/env';
import { createSession, SESSION_COOKIE } from '../src/lib/server/auth/sessions';
import { startPrivatePg } from './private-pg';
import { startApp, type RunningApp } from './e2e/app';
import { userCaller, waitFor } from './helpers';

const pg = await startPrivatePg();
await closeDb();
process.env.DATABASE_URL = pg.url;
resetEnvCache();

let app: RunningApp | undefined;
afterAll(async () => {
	await app?.stop();
	await closeDb();
	await pg.stop();
});

describe('a page that fails on the server', () => {
	it('shows a reference to the server log, not the error, and answers again once the database is back', async () => {
		app = await startApp({ DATABASE_URL: pg.url });
		const { user } = await userCaller('operator');
		const { token } = await createSession(user.id);
		const open = (accept = 'text/html') =>
			fetch(`${app!.url}/contacts`, { headers: { cookie: `${SESSION_COOKIE}=${token}`, accept }, redirect: 'manual' });
		expect((await open()).status).toBe(200);

		pg.kill9();
		// As a browser asks (HTML) and as a script does (SvelteKit then answers JSON).
		const tokenHash = createHash('sha256').update(token).digest('hex');
		const port = new URL(pg.url).port;
		for (const accept of ['text/html', '*/*']) {
			const res = await open(accept);
			const body = await res.text();
			expect(res.status).toBe(500);
			const ref = /\(ref ([0-9a-f]{12})\)/.exec(body)?.[1];
			expect(ref, body.slice(0, 2000)).toBeTruthy();
			for (const leak of ['Failed query', 'select ', 'params', tokenHash, 'ECONNREFUSED', 'CONNECTION_', `:${port}`, 'node_modules', '    at ']) {
				expect(body, `${accept}: ${body.slice(0, 2000)}`).not.toContain(leak);
			}
			// The details are in the log, under the same reference.
			await waitFor(() => app!.output().split('\n').some((l) => l.includes(ref!) && l.includes('"err"')), 5_000, 100);
		}

		await pg.start();
		await waitFor(async () => (await open()).status === 200, 30_000, 250);
	}, 90_000);
});
