import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting Batchdesk reads, declared and checked here and nowhere else: modules
 * take theirs from `env()`, grouped by domain (`env().send.lanes`). Entry points call
 * `exitOnInvalidEnv()` first, so a bad value stops the process with the variable
 * named before it starts anything, instead of surfacing later as NaN timers or a 500.
 *
 * Read `env()` where a value is used, not in a module-level constant: it is parsed once
 * and cached, so the cost is a property read, and tests that set process.env (then
 * `resetEnvCache()`) see their values. Importing a module must not parse the settings.
 *
 * An unset and an empty variable are the same (`FOO=` in a compose file means "default").
 */

const number = () => z.coerce.number({ error: 'must be a number' });
/** A whole number, at least `min`. */
const whole = (min: number) => number().int({ error: 'must be a whole number' }).min(min, { error: `must be ${min} or more` });
const positive = () => number().positive({ error: 'must be more than 0' });
const port = (min: number) => whole(min).max(65535, { error: 'must be a port number (at most 65535)' });
/** 1/0, true/false, on/off, yes/no. */
const flag = () => z.stringbool({ error: 'must be on or off (1/0, true/false, yes/no)' }).default(false);
const httpUrl = () =>
	z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://batchdesk.example.com' });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const fields = {
	// database
	/** PostgreSQL to use; unset: the embedded server. */
	DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
	DB_POOL_MAX: whole(1).default(10),
	/** PostgreSQL application_name of this process's connections (import lanes add `-import`). */
	BATCHDESK_APP_NAME: z.string().min(1).default('batchdesk'),
	/** Set by vitest in its test processes, which handle stray rejections themselves (db/client.ts). */
	VITEST: z.string().optional(),
	/** Folder of the embedded PostgreSQL (`pg/`); nothing else is kept there (uploads wait in the database). */
	BATCHDESK_DATA_DIR: z.string().default('.data'),
	EMBEDDED_PG_PORT: port(1).default(54329),

	// web / http
	HOST: z.string().default('0.0.0.0'),
	/** Unset: 3000, or 5173 under `npm run dev`. */
	PORT: port(0).optional(),
	/** Public origin of the web app; the WebSocket accepts this Origin (adapter-node reads it too). */
	ORIGIN: httpUrl().optional(),
	/** Largest JSON body of an API call; bigger answers 413 and points to the CSV upload. */
	TRPC_MAX_BODY_BYTES: whole(1).default(16 * 1024 * 1024),
	/** Most calls one batched API request may carry (more: 400); the app's own clients send at most 10. */
	TRPC_MAX_BATCH_SIZE: whole(1).default(20),
	/** adapter-node's own limit (server.js sets Infinity: the routes enforce theirs). Checked here so a typo stops `npm start` early. */
	BODY_SIZE_LIMIT: z
		.string()
		.regex(/^(Infinity|\d+(\.\d+)?[KMG]?)$/i, { error: 'must be a byte count, optionally with K, M or G, or Infinity' })
		.optional(),
	/** adapter-node's, with ADDRESS_HEADER: how many proxies to trust in X-Forwarded-For. */
	XFF_DEPTH: whole(1).default(1),
	/** adapter-node's: the header carrying the client address behind a proxy (the ws rate limit reads it too). */
	ADDRESS_HEADER: z.string().optional(),
	/** `development` under Vite's dev server: error responses carry stack traces. */
	NODE_ENV: z.string().optional(),

	// auth
	SESSION_TTL_HOURS: positive().default(24 * 7),
	/** Sign-in attempts of one account from one address before the back-off starts (auth/throttle.ts). */
	LOGIN_MAX_FAILURES: whole(1).default(10),
	/** A throttle count is forgotten after this long without an attempt; also the longest back-off. */
	LOGIN_WINDOW_MINUTES: positive().default(15),
	/** First back-off once a limit is reached; it doubles with each further attempt. */
	LOGIN_BACKOFF_SECONDS: positive().default(2),
	/** Attempts from one address over all accounts before its back-off (credential stuffing). */
	LOGIN_ADDRESS_MAX_FAILURES: whole(1).default(50),
	/** Attempts on one account over all addresses before its back-off (a ceiling for distributed guessing). */
	LOGIN_ACCOUNT_MAX_FAILURES: whole(1).default(100),
	/** The first admin, created only when there is no user at all. */
	ADMIN_EMAIL: z.email({ error: 'must be an email address' }).optional(),
	ADMIN_PASSWORD: z.string().min(8, { error: 'must be at least 8 characters' }).optional(),
	// WebSocket limits (issue 12): what one client can make a web process hold.
	/** Live subscriptions one socket may hold at once (each costs a snapshot query and a bus slot). */
	WS_MAX_SUBSCRIPTIONS: whole(1).default(50),
	/** Sockets one user may hold open at once, per web process. */
	WS_MAX_SOCKETS_PER_USER: whole(1).default(20),
	/** Bytes waiting to be written to one socket before it counts as a slow reader and is dropped. */
	WS_MAX_BUFFERED_BYTES: whole(1024).default(4 * 1024 * 1024),
	/** New sockets per client address per minute, per web process (bursts up to this many). */
	WS_CONNECTS_PER_MINUTE: whole(1).default(60),
	/** Calls in one ws batch message (as tRPC's maxBatchSize on HTTP). */
	WS_MAX_BATCH: whole(1).default(10),
	/** Every open socket's credentials are read again this often, besides the revocation notices. */
	WS_AUTH_RECHECK_SECONDS: whole(1).default(60),

	// worker
	WORKER_CONCURRENCY: whole(1).default(8),
	/** A worker silent for this long is dead; its locked jobs are released. */
	WORKER_DEAD_AFTER_SECONDS: whole(1).default(30),
	/** How long a job that lost its database connection is re-queued without using up an attempt (an outage shorter than this fails no batch). */
	WORKER_OUTAGE_GRACE_SECONDS: whole(1).default(600),

	// send
	/** Parallel slice chains of an unpaced batch (each claims its own items with SKIP LOCKED). */
	SEND_LANES: whole(1).default(3),
	/** Recipients per sandbox slice (one multi-row insert); recipients an HTTP lane sends before it opens the other lanes. */
	SEND_SANDBOX_SLICE: whole(1).default(5_000),
	SEND_HTTP_SLICE: whole(1).default(100),
	/** Provider requests in flight per lane when a lane starts; the window grows from there (send/http.ts). */
	SEND_HTTP_CONCURRENCY: whole(1).default(10),
	/** Most provider requests in flight in one worker process, over all lanes and batches. */
	SEND_HTTP_MAX_IN_FLIGHT: whole(1).default(1_000),
	/** How long one job keeps working before handing over to a fresh job (fairness, shutdown); paced jobs keep their batch longer. */
	SEND_SLICE_BUDGET_MS: whole(1).default(2_000),
	SEND_PACED_BUDGET_MS: whole(1).default(30_000),
	/** First retry back-off for transient errors (doubles per attempt). */
	SEND_RETRY_BASE_MS: whole(1).default(1_000),
	/** Logs each slice's size and duration, each paced step's lateness (benchmarks). */
	SEND_TRACE: flag(),
	/**
	 * Circuit breaker: a batch pauses itself when more than this share of the sends among
	 * its latest SEND_BREAKER_WINDOW recipients were refused (failed for good, or unknown);
	 * 1 turns it off.
	 */
	SEND_BREAKER_SHARE: number().gt(0, { error: 'must be more than 0' }).max(1, { error: 'must be at most 1' }).default(0.2),
	SEND_BREAKER_WINDOW: whole(1).default(200),
	/** Sends the window must hold before the breaker judges (a few bad numbers at the start are not an outage). */
	SEND_BREAKER_MIN_SENDS: whole(1).default(50),

	// channels
	/** Hosts provider URLs may point to, comma-separated (`*.example.com` for subdomains); unset: any public host. */
	CHANNEL_ALLOWED_HOSTS: z.string().optional(),
	/** Lets provider URLs reach loopback, link-local and private addresses; unset: only under `npm run dev`. */
	CHANNEL_ALLOW_PRIVATE: z.stringbool({ error: 'must be on or off (1/0, true/false, yes/no)' }).optional(),

	// import
	UPLOAD_MAX_BYTES: whole(1).default(200 * 1024 * 1024),
	IMPORT_JSON_MAX_CONTACTS: whole(1).default(10_000),
	IMPORT_CHUNK_ROWS: whole(1).default(10_000),
	IMPORT_LANES: whole(1).default(2),
	IMPORT_THREADS: whole(0).default(0),
	/** Logs where an import's time went (read, parse, encode, waiting for the database). */
	IMPORT_DEBUG: flag(),

	// ledger
	/** Days after a batch ends before its per-item rows are dropped (counts, error and failed rows stay); 0: never. */
	LEDGER_RETENTION_DAYS: whole(0).default(90),

	// bulk
	BULK_CHUNK_SIZE: whole(1).default(10_000),
	BULK_ITEM_LEDGER: flag(),
	/** Days the archives an undo needs (deleted contacts, what an import overwrote) are kept after their batch ends; then purged. */
	ARCHIVE_RETENTION_DAYS: whole(1).default(30),

	// logging
	LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
	/** auto: a short human format when stderr is a terminal, JSON lines otherwise. */
	LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }).default('auto')
};

/** Values never echoed in an error message. */
const SECRET = new Set<string>(['DATABASE_URL', 'ADMIN_PASSWORD']);

const schema = z.object(fields);
type Flat = z.infer<typeof schema>;

function grouped(e: Flat) {
	return {
		database: {
			url: e.DATABASE_URL,
			poolMax: e.DB_POOL_MAX,
			appName: e.BATCHDESK_APP_NAME,
			/** Under vitest: the pool leaves a lost connection's stray rejections to the runner. */
			underTestRunner: Boolean(e.VITEST),
			embeddedDir: path.resolve(e.BATCHDESK_DATA_DIR, 'pg'),
			embeddedPort: e.EMBEDDED_PG_PORT
		},
		web: {
			host: e.HOST,
			port: e.PORT ?? 3000,
			devPort: e.PORT ?? 5173,
			origin: e.ORIGIN,
			trpcMaxBodyBytes: e.TRPC_MAX_BODY_BYTES,
			trpcMaxBatchSize: e.TRPC_MAX_BATCH_SIZE,
			isDev: e.NODE_ENV === 'development'
		},
		auth: {
			sessionTtlHours: e.SESSION_TTL_HOURS,
			loginMaxFailures: e.LOGIN_MAX_FAILURES,
			loginWindowMinutes: e.LOGIN_WINDOW_MINUTES,
			loginBackoffSeconds: e.LOGIN_BACKOFF_SECONDS,
			loginAddressMaxFailures: e.LOGIN_ADDRESS_MAX_FAILURES,
			loginAccountMaxFailures: e.LOGIN_ACCOUNT_MAX_FAILURES,
			firstAdmin: { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD }
		},
		ws: {
			maxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
			maxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
			maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
			connectsPerMinute: e.WS_CONNECTS_PER_MINUTE,
			maxBatch: e.WS_MAX_BATCH,
			addressHeader: e.ADDRESS_HEADER?.toLowerCase(),
			xffDepth: e.XFF_DEPTH,
			authRecheckSeconds: e.WS_AUTH_RECHECK_SECONDS
		},
		worker: {
			concurrency: e.WORKER_CONCURRENCY,
			deadAfterSeconds: e.WORKER_DEAD_AFTER_SECONDS,
			outageGraceSeconds: e.WORKER_OUTAGE_GRACE_SECONDS
		},
		send: {
			lanes: e.SEND_LANES,
			sandboxSlice: e.SEND_SANDBOX_SLICE,
			httpSlice: e.SEND_HTTP_SLICE,
			httpConcurrency: e.SEND_HTTP_CONCURRENCY,
			httpMaxInFlight: e.SEND_HTTP_MAX_IN_FLIGHT,
			sliceBudgetMs: e.SEND_SLICE_BUDGET_MS,
			pacedBudgetMs: e.SEND_PACED_BUDGET_MS,
			retryBaseMs: e.SEND_RETRY_BASE_MS,
			trace: e.SEND_TRACE,
			breaker: {
				share: e.SEND_BREAKER_SHARE,
				window: e.SEND_BREAKER_WINDOW,
				minSends: Math.min(e.SEND_BREAKER_MIN_SENDS, e.SEND_BREAKER_WINDOW)
			}
		},
		channels: {
			allowedHosts: (e.CHANNEL_ALLOWED_HOSTS ?? '')
				.split(',')
				.map((h) => h.trim().toLowerCase())
				.filter(Boolean),
			allowPrivate: e.CHANNEL_ALLOW_PRIVATE
		},
		imports: {
			uploadMaxBytes: e.UPLOAD_MAX_BYTES,
			jsonMaxContacts: e.IMPORT_JSON_MAX_CONTACTS,
			chunkRows: e.IMPORT_CHUNK_ROWS,
			lanes: e.IMPORT_LANES,
			threads: e.IMPORT_THREADS,
			debug: e.IMPORT_DEBUG
		},
		ledger: {
			retentionDays: e.LEDGER_RETENTION_DAYS
		},
		bulk: {
			chunkSize: e.BULK_CHUNK_SIZE,
			itemLedger: e.BULK_ITEM_LEDGER,
			archiveRetentionDays: e.ARCHIVE_RETENTION_DAYS
		},
		log: {
			level: e.LOG_LEVEL,
			format: e.LOG_FORMAT
		}
	};
}

export type Env = ReturnType<typeof grouped>;
export type LogLevel = Env['log']['level'];

/** The variables this file declares, as the process has them (empty = unset). */
function read(names: readonly string[] = Object.keys(fields)): Record<string, string> {
	const out: Record<string, string> = {};
	for (const name of names) {
		const v = process.env[name];
		if (v !== undefined && v !== '') out[name] = v;
	}
	return out;
}

/** Thrown by env() on bad values; `problems` names each variable. */
export class InvalidEnvError extends Error {
	constructor(readonly problems: { variable: string; message: string }[]) {
		super(`Invalid environment:\n${problems.map((p) => `  ${p.variable} ${p.message}`).join('\n')}`);
		this.name = 'InvalidEnvError';
	}
}

let cached: Env | undefined;

export function env(): Env {
	if (cached) return cached;
	const raw = read();
	const parsed = schema.safeParse(raw);
	if (!parsed.success) {
		throw new InvalidEnvError(
			parsed.error.issues.map((i) => {
				const variable = String(i.path[0] ?? '?');
				const got = SECRET.has(variable) || raw[variable] === undefined ? '' : ` (got ${JSON.stringify(raw[variable])})`;
				return { variable, message: `${i.message}${got}` };
			})
		);
	}
	cached = grouped(parsed.data);
	return cached;
}

/** Tests change process.env between files; this drops the parsed copy. */
export function resetEnvCache() {
	cached = undefined;
}

/** sysexits' EX_CONFIG: a supervisor can tell "fix the configuration" from a crash and not restart in a loop. */
export const EXIT_INVALID_ENV = 78;

/**
 * For entry points (npm start, the worker, the web server's init): checks every setting
 * now; on a bad value prints each offending variable to stderr and exits with
 * EXIT_INVALID_ENV. Plain text, not through the logger: LOG_LEVEL may be the bad value.
 */
export function exitOnInvalidEnv(): Env {
	try {
		return env();
	} catch (e) {
		if (!(e instanceof InvalidEnvError)) throw e;
		process.stderr.write(`${e.message}\n`);
		process.exit(EXIT_INVALID_ENV);
	}
}

/**
 * LOG_LEVEL and LOG_FORMAT for the root logger, which exists as soon as a module that
 * logs is imported, before the entry point's check: a bad value falls back to the
 * default here (the check then reports it), and nothing is cached.
 */
export function logSettings(): Env['log'] {
	const raw = read(['LOG_LEVEL', 'LOG_FORMAT']);
	const level = fields.LOG_LEVEL.safeParse(raw.LOG_LEVEL);
	const format = fields.LOG_FORMAT.safeParse(raw.LOG_FORMAT);
	return { level: level.success ? level.data : 'info', format: format.success ? format.data : 'auto' };
}
