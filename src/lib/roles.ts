/**
 * The user roles, for the users page and db/schema.ts (which re-exports them).
 * Browser-safe: no imports.
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What each role may do in the console, for hiding the controls it cannot use (the
 * server refuses them anyway: operatorProcedure / adminProcedure in trpc/init.ts).
 * Operators run operations (send, import, tag, delete, retry, templates, contact
 * edits); admins also manage users, channels and tokens; viewers read.
 */
export function canOperate(role: Role | string | null | undefined): boolean {
	return role === 'operator' || role === 'admin';
}
export function canAdminister(role: Role | string | null | undefined): boolean {
	return role === 'admin';
}
