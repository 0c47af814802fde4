/**
 * `npm run user:create -- --email a@b.c --role operator [--password …]`
 * Creates a user; without --password one is generated and printed once.
 * `--reset`: the user exists: set a new password instead (their sessions end) and
 * enable the account (a locked-out or disabled admin gets back in from the shell).
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { prepareDatabase } from './database';
import { exitOnInvalidEnv } from '../src/lib/server/env';
import { createUser, findUserByEmail, resetPassword, setUserDisabled } from '../src/lib/server/auth/users';
import { closeDb } from '../src/lib/server/db/client';
import { ROLES } from '../src/lib/server/db/schema';

exitOnInvalidEnv();
const { values } = parseArgs({
	options: {
		email: { type: 'string' },
		role: { type: 'string', default: 'operator' },
		password: { type: 'string' },
		reset: { type: 'boolean', default: false }
	}
});
const input = z
	.object({ email: z.string().email(), role: z.enum(ROLES), password: z.string().min(8).optional(), reset: z.boolean() })
	.safeParse(values);
if (!input.success) {
	console.error('Usage: npm run user:create -- --email you@example.com [--role admin|operator|viewer] [--password …] [--reset]');
	console.error(input.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n'));
	process.exit(2);
}
const pg = await prepareDatabase({ quiet: true });
const password = input.data.password ?? randomBytes(12).toString('base64url');
try {
	const shown = input.data.password ? '' : ` with password: ${password}`;
	if (input.data.reset) {
		const existing = await findUserByEmail(input.data.email);
		if (!existing) throw new Error(`No user ${input.data.email}.`);
		await resetPassword(existing.id, password);
		if (existing.disabledAt) await setUserDisabled(existing.id, false, 0);
		console.log(`Reset the password of ${existing.role} ${existing.email}${shown}; their sessions ended.`);
	} else {
		const user = await createUser({ email: input.data.email, role: input.data.role, password });
		console.log(`Created ${user.role} ${user.email}${shown}`);
	}
} catch (e) {
	console.error(e instanceof Error ? e.message : e);
	process.exitCode = 1;
} finally {
	await closeDb();
	if (pg?.owned) await pg.stop();
}
