import { purgeArchives } from '../../src/lib/server/undo/purge';
import type { TaskHandler } from '../task';

/** Daily (crontab in tasks/index.ts): archives past ARCHIVE_RETENTION_DAYS go. */
export const archivePurge: TaskHandler<'maintenance:archive-purge'> = async () => {
	await purgeArchives();
};
