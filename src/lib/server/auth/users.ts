import { eq, sql as dsql } from 'drizzle-orm';
import { db, transaction } from '../db/client';
import { users, type Role } from '../db/schema';
import { conflict } from '../errors';
import { hashPassword } from './crypto';
import { randomBytes } from 'node:crypto';

export type UserRow = typeof users.$inferSelect;

export async function findUserByEmail(email: string): Promise<UserRow | undefined> {
	const [row] = await db()
		.select()
		.from(users)
		.where(dsql`lower(${users.email}) = lower(${email})`);
	return row;
}

export async function getUser(id: number) {
	const [row] = await db().select().from(users).where(eq(users.id, id));
	return row;
}

export async function createUser(input: { email: string; password: string; role: Role }) {
	if (await findUserByEmail(input.email)) {
		throw conflict(`A user with email ${input.email} already exists.`, 'email');
	}
	const passwordHash = await hashPassword(input.password);
	const [row] = await db()
		.insert(users)
		.values({ email: input.email.trim(), passwordHash, role: input.role })
		.returning({ id: users.id, email: users.email, role: users.role, createdAt: users.createdAt });
	return row;
}

export async function listUsers() {
	return db()
		.select({ id: users.id, email: users.email, role: users.role, createdAt: users.createdAt })
		.from(users)
		.orderBy(users.id);
}

/**
 * Changes a user's role. Refuses to demote the last admin: nobody could manage users
 * or channels afterwards. The admin rows are locked so two concurrent demotions of the
 * last two admins cannot both pass the check.
 */
export async function setUserRole(id: number, role: Role) {
	return transaction(async (tx) => {
		const admins = await tx<{ id: number }[]>`select id::float8 as id from users where role = 'admin' for update`;
		if (role !== 'admin' && admins.length === 1 && admins[0].id === id) {
			throw conflict('This is the last admin. Make another user admin first.', 'role');
		}
		const [row] = await tx<Pick<UserRow, 'id' | 'email' | 'role'>[]>`
			update users set role = ${role} where id = ${id} returning id::float8 as id, email, role`;
		return row;
	});
}

/**
 * First run: with no user at all, create an admin from ADMIN_EMAIL / ADMIN_PASSWORD,
 * or with a generated password that is returned once for the caller to print.
 */
export async function ensureFirstAdmin(opts: { email?: string; password?: string }) {
	const [{ n }] = await db().select({ n: dsql<number>`count(*)::int` }).from(users);
	if (n > 0) return null;
	const email = opts.email ?? 'admin@batchdesk.local';
	const password = opts.password ?? randomBytes(12).toString('base64url');
	try {
		await createUser({ email, password, role: 'admin' });
	} catch {
		return null; // another process created it first
	}
	return { email, password, generated: !opts.password };
}
