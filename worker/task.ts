import type { JobHelpers, Task } from 'graphile-worker';
import { taskPayloads, type TaskName, type TaskPayload } from '../src/lib/server/jobs/payloads';

export type TaskHandler<T extends TaskName> = (payload: TaskPayload<T>, helpers: JobHelpers) => Promise<void>;

/** Wraps a handler so its payload is checked with the task's zod schema first. */
export function defineTask<T extends TaskName>(name: T, handler: TaskHandler<T>): Task {
	return async (raw, helpers) => {
		const parsed = taskPayloads[name].safeParse(raw);
		if (!parsed.success) {
			// A malformed payload will never succeed: fail it for good instead of retrying.
			throw Object.assign(new Error(`Bad payload for ${name}: ${parsed.error.message}`), { permanent: true });
		}
		await handler(parsed.data as TaskPayload<T>, helpers);
	};
}
