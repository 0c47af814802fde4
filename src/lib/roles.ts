/**
 * The user roles, for the users page and db/schema.ts (which re-exports them).
 * Browser-safe: no imports.
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
