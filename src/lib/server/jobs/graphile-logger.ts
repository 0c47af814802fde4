import { Logger, type LogFunctionFactory } from 'graphile-worker';
import { logger, type Log } from '../log';

/**
 * graphile-worker's own levels in ours, one step down for the chatty ones: its `info`
 * is a line per completed job and its `debug` a line per fetched job, so they show at
 * LOG_LEVEL=debug and trace; warnings and errors (a failed job, a lost connection) at
 * the default level. A task's `helpers.logger` (scope label `job`) keeps its levels.
 */
const DEMOTED = { error: 'error', warning: 'warn', info: 'debug', debug: 'trace' } as const;
const AS_IS = { error: 'error', warning: 'warn', info: 'info', debug: 'debug' } as const;

/**
 * graphile-worker's Logger writing through ours (module `graphile-worker`, with its
 * scope: label, workerId, taskIdentifier, jobId). It makes one scoped logger per job,
 * so the factory only captures the scope; nothing is built for a disabled level.
 */
export function graphileLogger(log: Log = logger.child({ module: 'graphile-worker' })): Logger {
	const factory: LogFunctionFactory = (scope) => {
		const levels = scope.label === 'job' ? AS_IS : DEMOTED;
		return (level, message, meta) => {
			const to = levels[level as keyof typeof levels] ?? 'info';
			if (!log.isLevelEnabled(to)) return;
			// The job row (with its payload) stays out; a failure's error becomes `err`
			// (message, stack), so the text graphile-worker appends for it is cut.
			const { job, error, fatalError, ...rest } = meta ?? {};
			const err = error ?? fatalError;
			const fields: Record<string, unknown> = { ...scope, ...rest };
			if (job && typeof job === 'object' && 'id' in job) fields.jobId ??= (job as { id: unknown }).id;
			if (err === undefined) return log[to](fields, message);
			log[to]({ ...fields, err }, message.replace(/ with error '[\s\S]*$/, '').split('\n')[0]);
		};
	};
	return new Logger(factory);
}
