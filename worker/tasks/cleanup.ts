import { sql } from '../../src/lib/server/db/client';
import { deleteExpiredSessions } from '../../src/lib/server/auth/sessions';
import type { TaskHandler } from '../task';

export const cleanup: TaskHandler<'maintenance:cleanup'> = async () => {
	await deleteExpiredSessions();
	await sql()`delete from login_throttle where updated_at < now() - interval '1 day'`;
};
