/**
 * Issue 12, offboarding and passwords: what an admin and a user can now do to accounts,
 * through the routers, with what each change does to sessions and tokens.
 */
import { describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { caller, userCaller } from './helpers';
import { createSession, validateSession } from '../src/lib/server/auth/sessions';
import { createApiToken, validateApiToken } from '../src/lib/server/auth/tokens';
import { sql } from '../src/lib/server/db/client';

const PASSWORD = 'correct horse battery';

async function codeOf(p: Promise<unknown>) {
	try {
		await p;
		return null;
	} catch (e) {
		return e instanceof TRPCError ? e.code : String(e);
	}
}

describe('admin: disable, enable, delete, reset', () => {
	it('disabling ends the user’s sessions and tokens at once and refuses sign-in; enabling brings none back', async () => {
		const admin = await userCaller('admin');
		const target = await userCaller('operator');
		const s = await createSession(target.user.id);
		const t = await createApiToken(target.user.id, 'job');
		const row = await admin.call.users.setDisabled({ id: target.user.id, disabled: true });
		expect(row.disabledAt).toBeInstanceOf(Date);
		expect(await validateSession(s.token)).toBeNull();
		expect(await validateApiToken(t.token)).toBeNull();
		expect(await codeOf(caller({ ip: '198.51.100.1' }).auth.login({ email: target.user.email, password: PASSWORD }))).toBe('UNAUTHORIZED');
		expect((await admin.call.users.list()).find((u) => u.id === target.user.id)?.disabledAt).toBeInstanceOf(Date);

		await admin.call.users.setDisabled({ id: target.user.id, disabled: false });
		expect(await validateApiToken(t.token)).toBeNull(); // revoked for good
		const again = await caller({ ip: '198.51.100.2' }).auth.login({ email: target.user.email, password: PASSWORD });
		expect(again.user.id).toBe(target.user.id);
	});

	it('deleting removes the account, its sessions and tokens; its batches stay', async () => {
		const admin = await userCaller('admin');
		const target = await userCaller('operator');
		const t = await createApiToken(target.user.id, 'job');
		const [batch] = await sql()<{ id: string }[]>`
			insert into batch_operations (type, status, total_count, created_by) values ('TAG', 'COMPLETED', 1, ${target.user.id}) returning id`;
		await admin.call.users.delete({ id: target.user.id });
		expect(await validateApiToken(t.token)).toBeNull();
		expect((await admin.call.users.list()).some((u) => u.id === target.user.id)).toBe(false);
		const [kept] = await sql()<{ created_by: number | null }[]>`select created_by from batch_operations where id = ${batch.id}`;
		expect(kept.created_by).toBeNull();
		expect(await codeOf(admin.call.users.delete({ id: target.user.id }))).toBe('NOT_FOUND');
	});

	it('never leaves no enabled admin, and an admin cannot disable or delete themselves', async () => {
		const admin = await userCaller('admin');
		expect(await codeOf(admin.call.users.setDisabled({ id: admin.user.id, disabled: true }))).toBe('CONFLICT');
		expect(await codeOf(admin.call.users.delete({ id: admin.user.id }))).toBe('CONFLICT');
		// Leave one enabled admin in this database, then try to remove it through another admin's hands.
		await sql()`update users set disabled_at = now() where role = 'admin' and id <> ${admin.user.id}`;
		const second = await userCaller('admin');
		await sql()`update users set disabled_at = now() where id = ${admin.user.id}`;
		expect(await codeOf(second.call.users.setRole({ id: second.user.id, role: 'viewer' }))).toBe('CONFLICT');
		await sql()`update users set disabled_at = null where id = ${admin.user.id}`;
		await second.call.users.setRole({ id: second.user.id, role: 'viewer' }); // another enabled admin exists now
	});

	it('resets a password: the new one signs in, the old one does not, sessions end', async () => {
		const admin = await userCaller('admin');
		const target = await userCaller('viewer');
		const s = await createSession(target.user.id);
		await admin.call.users.resetPassword({ id: target.user.id, password: 'reset by the admin' });
		expect(await validateSession(s.token)).toBeNull();
		expect(await codeOf(caller({ ip: '198.51.100.3' }).auth.login({ email: target.user.email, password: PASSWORD }))).toBe('UNAUTHORIZED');
		await caller({ ip: '198.51.100.4' }).auth.login({ email: target.user.email, password: 'reset by the admin' });
		expect(await codeOf(admin.call.users.resetPassword({ id: target.user.id, password: 'short' }))).toBe('BAD_REQUEST');
	});

	it('is the admin’s only', async () => {
		const op = await userCaller('operator');
		for (const p of [
			op.call.users.setDisabled({ id: op.user.id, disabled: true }),
			op.call.users.delete({ id: op.user.id }),
			op.call.users.resetPassword({ id: op.user.id, password: 'whatever long' }),
			op.call.tokens.listAll()
		]) {
			expect(await codeOf(p)).toBe('FORBIDDEN');
		}
	});
});

describe('own password', () => {
	it('needs the current password; keeps the current session and ends the others', async () => {
		const { user } = await userCaller('viewer');
		const current = await createSession(user.id);
		const other = await createSession(user.id);
		const me = caller({ user, sessionToken: current.token });
		expect(await codeOf(me.auth.changePassword({ oldPassword: 'not it at all', newPassword: 'brand new password' }))).toBe('BAD_REQUEST');
		expect(await codeOf(me.auth.changePassword({ oldPassword: PASSWORD, newPassword: 'short' }))).toBe('BAD_REQUEST');
		await me.auth.changePassword({ oldPassword: PASSWORD, newPassword: 'brand new password' });
		expect(await validateSession(current.token)).not.toBeNull();
		expect(await validateSession(other.token)).toBeNull();
		await caller({ ip: '198.51.100.5' }).auth.login({ email: user.email, password: 'brand new password' });
	});
});

describe('API tokens', () => {
	it('expire by themselves when given an expiry, and record when they were last used', async () => {
		const { user, call } = await userCaller('operator');
		const t = await call.tokens.create({ name: 'week', expiresInDays: 7 });
		expect(t.expiresAt!.getTime() - Date.now()).toBeGreaterThan(6 * 86_400_000);
		expect(await validateApiToken(t.token)).toMatchObject({ id: user.id });
		const listed = (await call.tokens.list()).find((x) => x.id === t.id)!;
		expect(listed.lastUsedAt).toBeInstanceOf(Date);
		await sql()`update api_tokens set expires_at = now() - interval '1 second' where id = ${t.id}`;
		expect(await validateApiToken(t.token)).toBeNull();
		const forever = await call.tokens.create({ name: 'forever' });
		expect(forever.expiresAt).toBeNull();
		expect(await codeOf(call.tokens.create({ name: 'x', expiresInDays: 0 }))).toBe('BAD_REQUEST');
	});

	it('an admin sees and revokes anyone’s; a user only their own', async () => {
		const admin = await userCaller('admin');
		const a = await userCaller('operator');
		const b = await userCaller('operator');
		const ta = await a.call.tokens.create({ name: 'a' });
		expect(await codeOf(b.call.tokens.revoke({ id: ta.id }))).toBe('NOT_FOUND');
		expect((await admin.call.tokens.listAll()).find((x) => x.id === ta.id)?.userEmail).toBe(a.user.email);
		await admin.call.tokens.revoke({ id: ta.id });
		expect(await validateApiToken(ta.token)).toBeNull();
	});

	it('refuses unstorable names with a field error, not a 500 carrying SQL', async () => {
		const { call } = await userCaller('operator');
		for (const name of ['a\u0000b', 'a\ud800b']) {
			const code = await codeOf(call.tokens.create({ name }));
			expect(code).toBe('BAD_REQUEST');
		}
	});
});
