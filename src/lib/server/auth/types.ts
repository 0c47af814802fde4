import type { Role } from '../db/schema';

export type AuthUser = {
	id: number;
	email: string;
	role: Role;
	/** How this request authenticated. */
	via: 'session' | 'token';
	/** With `via: 'token'`: which token, so the audit log names it (audit/). */
	tokenId?: number;
	tokenName?: string;
};
