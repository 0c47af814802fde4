/**
 * `npm run user:create -- --email a@b.c --role operator [--password …]`
 * Creates a user; without --password one is generated and printed once.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { prepareDatabase } from './database';
import { exitOnInvalidEnv } from '../src/lib/server/env';
import { createUser } from '../src/lib/server/auth/users';
import { closeDb } from '../src/lib/server/db/client';
import { ROLES } from '../src/lib/server/db/schema';

exitOnInvalidEnv();
const { values } = parseArgs({
	options: { email: { type: 'string' }, role: { type: 'string', default: 'operator' }, password: { type: 'string' } }
});
const input = z
	.object({ email: z.string().email(), role: z.enum(ROLES), password: z.string().min(8).optional() })
	.safeParse(values);
if (!input.success) {
	console.error('Usage: npm run user:create -- --email you@example.com [--role admin|operator|viewer] [--password …]');
	console.error(input.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n'));
	process.exit(2);
}
const pg = await prepareDatabase({ quiet: true });
const password = input.data.password ?? randomBytes(12).toString('base64url');
try {
	const user = await createUser({ ...input.data, password });
	console.log(`Created ${user.role} ${user.email}${input.data.password ? '' : ` with password: ${password}`}`);
} catch (e) {
	console.error(e instanceof Error ? e.message : e);
	process.exitCode = 1;
} finally {
	await closeDb();
	if (pg?.owned) await pg.stop();
}
