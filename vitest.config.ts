import { defineConfig } from 'vitest/config';
import path from 'node:path';
import { ensureParaglide } from './paraglide.config.js';

// Components and labels import the compiled messages (src/lib/paraglide): compiled when
// missing or stale (not by paraglide's vite plugin here: run inside vitest, the compiler
// leaves timers that hold vitest's exit).
ensureParaglide();

export default defineConfig({
	resolve: { alias: { $lib: path.resolve('src/lib') } },
	test: {
		include: ['src/**/*.test.ts', 'tests/**/*.test.ts', 'worker/**/*.test.ts'],
		globalSetup: ['tests/global-setup.ts'],
		setupFiles: ['tests/setup-db.ts'],
		// Warnings and errors only (also for the workers and servers tests spawn); LOG_LEVEL=info npx vitest … shows the rest.
		// CHANNEL_ALLOW_PRIVATE: the fake providers listen on 127.0.0.1 (tests of the address policy turn it off).
		env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', CHANNEL_ALLOW_PRIVATE: process.env.CHANNEL_ALLOW_PRIVATE ?? '1' },
		pool: 'forks',
		// Two test files at a time on these 2-core machines: with three, the embedded
		// PostgreSQL, the files and the workers they spawn oversubscribed the CPU, and the
		// timing tests' measurements (paced sends at the receiver) carried that noise.
		maxWorkers: 2,
		testTimeout: 30_000,
		hookTimeout: 60_000
	}
});
