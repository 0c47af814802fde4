import { z } from 'zod';

/**
 * Every setting Batchdesk reads, parsed once. Fails fast with the offending
 * variable named, so a typo in production does not surface as a 500 later.
 */
const schema = z.object({
	NODE_ENV: z.string().default('development'),
	DATABASE_URL: z.string().url().optional(),
	/** Where the embedded PostgreSQL keeps its files when DATABASE_URL is unset. */
	BATCHDESK_DATA_DIR: z.string().default('.data'),
	EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
	HOST: z.string().default('0.0.0.0'),
	PORT: z.coerce.number().int().min(0).max(65535).default(3000),
	/** Public origin of the web app, e.g. https://batchdesk.example.com. Used for the ws Origin check. */
	ORIGIN: z.string().url().optional(),
	ADMIN_EMAIL: z.string().email().optional(),
	ADMIN_PASSWORD: z.string().min(8).optional(),
	SESSION_TTL_HOURS: z.coerce.number().positive().default(24 * 7),
	LOGIN_MAX_FAILURES: z.coerce.number().int().positive().default(10),
	LOGIN_WINDOW_MINUTES: z.coerce.number().positive().default(15),
	UPLOAD_MAX_BYTES: z.coerce.number().int().positive().default(200 * 1024 * 1024),
	IMPORT_JSON_MAX_CONTACTS: z.coerce.number().int().positive().default(10_000),
	WORKER_CONCURRENCY: z.coerce.number().int().positive().default(8),
	/** A worker silent for this long is dead; its locked jobs are released. */
	WORKER_DEAD_AFTER_SECONDS: z.coerce.number().int().positive().default(30),
	LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info')
});

export type Env = z.infer<typeof schema>;

let cached: Env | undefined;

export function env(): Env {
	if (cached) return cached;
	const parsed = schema.safeParse(process.env);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
		throw new Error(`Invalid environment:\n${lines.join('\n')}`);
	}
	cached = parsed.data;
	return cached;
}

/** Tests change process.env between files; this drops the parsed copy. */
export function resetEnvCache() {
	cached = undefined;
}
