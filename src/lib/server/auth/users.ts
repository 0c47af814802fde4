import { eq, sql as dsql } from 'drizzle-orm';
import { db, transaction, type Tx } from '../db/client';
import { users, type Role } from '../db/schema';
import { conflict, DomainError, notFound } from '../errors';
import { hashPassword, verifyPassword } from './crypto';
import { deleteUserSessions } from './sessions';
import { revokeUserTokens } from './tokens';
import { randomBytes } from 'node:crypto';
import { audit, type AuditCtx } from '../audit/record';

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

/** `by`: who creates it (users.create); absent for the first admin and scripts, which are not recorded. */
export async function createUser(input: { email: string; password: string; role: Role }, by?: AuditCtx) {
	if (await findUserByEmail(input.email)) {
		throw conflict(`A user with email ${input.email} already exists.`, 'email');
	}
	const passwordHash = await hashPassword(input.password);
	return transaction(async (tx) => {
		const [row] = await tx<{ id: number; email: string; role: Role; createdAt: Date }[]>`
			insert into users (email, password_hash, role) values (${input.email.trim()}, ${passwordHash}, ${input.role})
			returning id::float8 as id, email, role, created_at as "createdAt"`;
		await audit(tx, by, 'users.create', { type: 'user', id: row.id }, { email: row.email, role: row.role });
		return row;
	});
}

export async function listUsers() {
	return db()
		.select({ id: users.id, email: users.email, role: users.role, createdAt: users.createdAt, disabledAt: users.disabledAt })
		.from(users)
		.orderBy(users.id);
}

/**
 * Locks the enabled admins' rows and refuses a change that would leave none: nobody could
 * manage users or channels afterwards. Locking makes two concurrent changes to the last
 * two admins queue, so they cannot both pass the check.
 */
async function keepOneAdmin(tx: Tx, id: number, field: string) {
	const admins = await tx<{ id: number }[]>`
		select id::float8 as id from users where role = 'admin' and disabled_at is null for update`;
	if (admins.length === 1 && admins[0].id === id) {
		throw conflict('This is the last admin. Make another user admin first.', field);
	}
}

/** Changes a user's role (never the last admin's away). Open sockets follow (ws-auth.ts). */
export async function setUserRole(id: number, role: Role, by?: AuditCtx) {
	return transaction(async (tx) => {
		if (role !== 'admin') await keepOneAdmin(tx, id, 'role');
		const [before] = await tx<{ role: Role }[]>`select role from users where id = ${id} for update`;
		const [row] = await tx<Pick<UserRow, 'id' | 'email' | 'role'>[]>`
			update users set role = ${role} where id = ${id} returning id::float8 as id, email, role`;
		if (row) await audit(tx, by, 'users.setRole', { type: 'user', id }, { email: row.email, before: { role: before.role }, after: { role } });
		return row;
	});
}

/**
 * Disables (or enables) an account. Disabling ends its sessions and revokes its tokens
 * at once (enabling again brings none back); the account cannot sign in until enabled.
 */
export async function setUserDisabled(id: number, disabled: boolean, actorId: number, by?: AuditCtx) {
	if (disabled && id === actorId) throw conflict('You cannot disable your own account.', 'id');
	const row = await transaction(async (tx) => {
		if (disabled) await keepOneAdmin(tx, id, 'id');
		const [r] = await tx<(Pick<UserRow, 'id' | 'email' | 'role' | 'disabledAt'> & { wasDisabled: boolean })[]>`
			with old as (select id, disabled_at from users where id = ${id} for update)
			update users u set disabled_at = case when ${disabled}::boolean then coalesce(u.disabled_at, now()) end
			from old
			where u.id = old.id
			returning u.id::float8 as id, u.email, u.role, u.disabled_at as "disabledAt", old.disabled_at is not null as "wasDisabled"`;
		if (!r) throw notFound(`No user ${id}.`, 'id');
		await audit(tx, by, 'users.setDisabled', { type: 'user', id }, { email: r.email, before: { disabled: r.wasDisabled }, after: { disabled } });
		const { wasDisabled: _, ...out } = r;
		return out;
	});
	if (disabled) {
		// After the commit: the validation queries already refuse a disabled user's
		// credentials; these make it final even if the account is enabled again.
		await deleteUserSessions(id);
		await revokeUserTokens(id);
	}
	return row;
}

/** Deletes an account; its sessions and tokens go with it (cascade), its batches stay (created_by null). */
export async function deleteUser(id: number, actorId: number, by?: AuditCtx) {
	if (id === actorId) throw conflict('You cannot delete your own account.', 'id');
	return transaction(async (tx) => {
		await keepOneAdmin(tx, id, 'id');
		const [row] = await tx<{ id: number; email: string; role: Role }[]>`
			delete from users where id = ${id} returning id::float8 as id, email, role`;
		if (!row) throw notFound(`No user ${id}.`, 'id');
		await audit(tx, by, 'users.delete', { type: 'user', id }, { email: row.email, role: row.role });
		return { id: row.id, email: row.email };
	});
}

/** An admin sets a new password for a user: every session of that user ends. */
export async function resetPassword(id: number, password: string, by?: AuditCtx) {
	const passwordHash = await hashPassword(password);
	return transaction(async (tx) => {
		const [row] = await tx<{ id: number; email: string }[]>`
			update users set password_hash = ${passwordHash} where id = ${id} returning id::float8 as id, email`;
		if (!row) throw notFound(`No user ${id}.`, 'id');
		await deleteUserSessions(id, null, tx);
		await audit(tx, by, 'users.resetPassword', { type: 'user', id }, { email: row.email });
		return row;
	});
}

/**
 * A user changes their own password; the old one is required (a stolen session alone
 * cannot lock the owner out). Their other sessions end; the current one stays.
 */
export async function changeOwnPassword(input: {
	userId: number;
	oldPassword: string;
	newPassword: string;
	keepSessionToken: string | null;
}, by?: AuditCtx) {
	const user = await getUser(input.userId);
	if (!user || !(await verifyPassword(user.passwordHash, input.oldPassword))) {
		throw new DomainError('BAD_INPUT', 'The current password is wrong.', 'oldPassword');
	}
	const passwordHash = await hashPassword(input.newPassword);
	await transaction(async (tx) => {
		await tx`update users set password_hash = ${passwordHash} where id = ${input.userId}`;
		await deleteUserSessions(input.userId, input.keepSessionToken, tx);
		await audit(tx, by, 'auth.changePassword', { type: 'user', id: input.userId }, { email: user.email });
	});
	return { ok: true as const };
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
