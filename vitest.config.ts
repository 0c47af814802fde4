import { defineConfig } from 'vitest/config';
import path from 'node:path';
import { paraglideVitePlugin } from '@inlang/paraglide-js';
import { paraglideOptions } from './paraglide.config.js';

export default defineConfig({
	// Components and labels import the compiled messages (src/lib/paraglide).
	plugins: [paraglideVitePlugin(paraglideOptions)],
	resolve: { alias: { $lib: path.resolve('src/lib') } },
	test: {
		include: ['src/**/*.test.ts', 'tests/**/*.test.ts', 'worker/**/*.test.ts'],
		globalSetup: ['tests/global-setup.ts'],
		setupFiles: ['tests/setup-db.ts'],
		// Warnings and errors only (also for the workers and servers tests spawn); LOG_LEVEL=info npx vitest … shows the rest.
		// CHANNEL_ALLOW_PRIVATE: the fake providers listen on 127.0.0.1 (tests of the address policy turn it off).
		env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', CHANNEL_ALLOW_PRIVATE: process.env.CHANNEL_ALLOW_PRIVATE ?? '1' },
		pool: 'forks',
		maxWorkers: 3,
		testTimeout: 30_000,
		hookTimeout: 60_000
	}
});
