import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { ensureParaglide } from './paraglide.config.js';

// `svelte-kit sync`, svelte-check and tsc run no vite plugin: the compiled messages
// (src/lib/paraglide, not in git) are made here when missing or stale.
ensureParaglide();

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// The form-origin check runs in hooks.server.ts (lib/server/http/csrf.ts) instead:
		// the framework's cannot exempt the provider callbacks (/api/receipts/), which
		// Twilio posts as forms without an Origin header. '*' turns the framework's off.
		csrf: { trustedOrigins: ['*'] },
		// Every page's Content-Security-Policy header. Scripts: only our own files and
		// SvelteKit's hydration script, which gets a nonce per response ('auto': nonces on
		// server-rendered pages, hashes on prerendered ones), so an injected <script> or
		// on…= attribute does not run. Styles keep 'unsafe-inline': Svelte renders style=""
		// attributes (progress bars) and a style cannot run code. 'self' in connect-src
		// covers the app's own WebSocket (/api/trpc-ws) in current browsers. API routes get
		// a stricter header from hooks.server.ts (lib/server/http/headers.ts).
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:', 'blob:'],
				'font-src': ['self', 'data:'],
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self'],
				'frame-ancestors': ['none']
			}
		}
	}
};
