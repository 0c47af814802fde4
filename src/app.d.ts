import type { AuthUser } from './lib/server/auth/types';

declare global {
	namespace App {
		interface Locals {
			user: AuthUser | null;
			sessionToken: string | null;
		}
	}
}

export {};
