import pino, { type Logger } from 'pino';
import { logSettings } from './env';

/**
 * The one logger of every server process (web, worker, `npm start`). A module takes a
 * child named after it, `const log = logger.child({ module: 'send' })`, and logs
 * `log.error({ err, batchId }, 'slice failed')`: fields stay fields, errors keep their
 * stack and cause.
 *
 * Lines go to stderr, as JSON (one object a line: level, time, pid, hostname, module,
 * msg, …) unless stderr is a terminal, which gets a short human line instead
 * (LOG_FORMAT overrides either way). stderr, because stdout carries data: a benchmark's
 * last stdout line is its result, and `npm start` prints its sign-in banner there.
 *
 * The level (LOG_LEVEL) is fixed when this module loads, which is before an entry point
 * checks its settings: pino copies a parent's level into each child when the child is
 * made, and module loggers are made at import.
 */
export type Log = Logger;

const settings = logSettings();

export const logger: Log = pino(
	{
		level: settings.level,
		timestamp: pino.stdTimeFunctions.isoTime,
		formatters: { level: (label) => ({ level: label }) }
	},
	settings.format === 'pretty' || (settings.format === 'auto' && process.stderr.isTTY) ? prettyStream() : process.stderr
);

const TAGS: Record<string, [string, number]> = {
	trace: ['TRACE', 90],
	debug: ['DEBUG', 90],
	info: ['INFO ', 36],
	warn: ['WARN ', 33],
	error: ['ERROR', 31],
	fatal: ['FATAL', 31]
};
/** Bindings every line has, left out of the human format. */
const QUIET = new Set(['level', 'time', 'pid', 'hostname', 'module', 'msg', 'err']);

/**
 * One JSON line as `12:34:56.789 ERROR [send] message key=value`, then the error's
 * stack indented. A small formatter instead of pino-pretty: a dependency less, and
 * the terminal only needs to be readable (the JSON is what log tooling gets).
 */
export function formatLine(line: string, colour = false): string {
	let o: Record<string, unknown>;
	try {
		o = JSON.parse(line);
	} catch {
		return line;
	}
	const [tag, code] = TAGS[String(o.level)] ?? [String(o.level).toUpperCase(), 0];
	const paint = (s: string, c: number) => (colour && c ? `\x1b[${c}m${s}\x1b[39m` : s);
	let out = `${typeof o.time === 'string' ? o.time.slice(11, 23) : ''} ${paint(tag, code)}`;
	if (o.module) out += ` ${paint(`[${o.module}]`, 90)}`;
	if (o.msg !== undefined) out += ` ${o.msg}`;
	for (const [k, v] of Object.entries(o)) {
		if (QUIET.has(k) || v === undefined) continue;
		out += ` ${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`;
	}
	const err = o.err as { stack?: string; message?: string; type?: string } | string | undefined;
	if (err !== undefined) {
		const text = typeof err === 'object' ? (err.stack ?? `${err.type ?? 'Error'}: ${err.message}`) : String(err);
		out += `\n    ${text.replace(/\n/g, '\n    ')}`;
	}
	return `${out}\n`;
}

function prettyStream() {
	const colour = process.stderr.hasColors?.() ?? false;
	return { write: (line: string) => void process.stderr.write(formatLine(line, colour)) };
}
