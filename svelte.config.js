import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// The form-origin check runs in hooks.server.ts (lib/server/http/csrf.ts) instead:
		// the framework's cannot exempt the provider callbacks (/api/receipts/), which
		// Twilio posts as forms without an Origin header. '*' turns the framework's off.
		csrf: { trustedOrigins: ['*'] }
	}
};
