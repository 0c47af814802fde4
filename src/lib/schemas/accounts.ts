import { z } from 'zod';
import { ROLES } from '../roles';

/**
 * Inputs of the account procedures (users, tokens, own password), shared with the
 * settings pages. Text that PostgreSQL cannot store (NUL, a lone surrogate) is refused
 * here with a field error instead of failing in the database.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (s: string) => !s.includes('\u0000') && !LONE_SURROGATE.test(s);
const text = (max: number) => z.string().max(max).refine(storable, { error: 'contains characters that cannot be stored' });

/** argon2 hashes any bytes, but a lone surrogate has no UTF-8 form: the same password could not be typed twice. */
export const password = text(1024).pipe(z.string().min(8, { error: 'must be at least 8 characters' }));
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const userCreateInput = z.object({ email: z.string().trim().max(320).email(), password, role: z.enum(ROLES) });
export const userIdInput = z.object({ id });
export const userSetRoleInput = z.object({ id, role: z.enum(ROLES) });
export const userSetDisabledInput = z.object({ id, disabled: z.boolean() });
export const userResetPasswordInput = z.object({ id, password });
export const changePasswordInput = z.object({ oldPassword: text(1024).pipe(z.string().min(1)), newPassword: password });

/** Days until a new token expires by itself; absent: until revoked. */
export const TOKEN_MAX_DAYS = 3650;
export const tokenCreateInput = z.object({
	name: text(100).pipe(z.string().trim().min(1)),
	expiresInDays: z.number().int().min(1).max(TOKEN_MAX_DAYS).optional()
});
export const tokenIdInput = z.object({ id });
