import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';
import { paraglideVitePlugin } from '@inlang/paraglide-js';
import { paraglideOptions } from './paraglide.config.js';

/** In dev, hands the tRPC ws upgrade to our server; Vite's own HMR socket is left alone. */
function trpcWs(): Plugin {
	return {
		name: 'batchdesk-trpc-ws',
		configureServer(server) {
			server.httpServer?.on('upgrade', async (req, socket, head) => {
				if (!req.url?.startsWith('/api/trpc-ws')) return;
				const mod = await server.ssrLoadModule('/src/lib/server/trpc/ws.ts');
				mod.handleUpgrade(req, socket, head);
			});
		}
	};
}

export default defineConfig({
	plugins: [paraglideVitePlugin(paraglideOptions), sveltekit(), trpcWs()],
	server: { port: Number(process.env.PORT ?? 5173) }
});
