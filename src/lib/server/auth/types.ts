import type { Role } from '../db/schema';

export type AuthUser = {
	id: number;
	email: string;
	role: Role;
	/** How this request authenticated. */
	via: 'session' | 'token';
};
