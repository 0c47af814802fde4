import { defineConfig } from 'vitest/config';
import path from 'node:path';

export default defineConfig({
	resolve: { alias: { $lib: path.resolve('src/lib') } },
	test: {
		include: ['src/**/*.test.ts', 'tests/**/*.test.ts', 'worker/**/*.test.ts'],
		globalSetup: ['tests/global-setup.ts'],
		setupFiles: ['tests/setup-db.ts'],
		// Warnings and errors only (also for the workers and servers tests spawn); LOG_LEVEL=info npx vitest … shows the rest.
		env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
		pool: 'forks',
		maxWorkers: 3,
		testTimeout: 30_000,
		hookTimeout: 60_000
	}
});
