// Production web server: adapter-node's handler plus the tRPC WebSocket upgrade.
// Run `npm run build` first; `npm start` does both.
import http from 'node:http';
import './scripts/upload-body-limit.js';
import './scripts/web-pool.js';
import { handler } from './build/handler.js';

// Loading the handler ran hooks.server.ts init(): it checked every setting (exiting with
// the bad variable named) and left the checked address and the logger here.
const { host, port, log } = globalThis.__batchdeskWeb;

// Static files under /_app are served by adapter-node before hooks.server.ts runs, so
// they would go out without the headers it adds (src/lib/server/http/headers.ts):
// nosniff for every response here; a page's own headers are set over it by the handler.
const server = http.createServer((req, res) => {
	res.setHeader('X-Content-Type-Options', 'nosniff');
	handler(req, res);
});
server.on('upgrade', (req, socket, head) => {
	// hooks.server.ts init() creates the ws server when the handler loads.
	const ws = globalThis.__batchdeskWsUpgrade;
	if (!ws || !ws(req, socket, head)) socket.destroy();
});

server.listen(port, host, () => {
	log.info({ url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}` }, 'listening');
});

function shutdown(signal) {
	log.info({ signal }, 'closing');
	globalThis.__batchdeskWsClose?.();
	server.close(() => process.exit(0));
	server.closeAllConnections?.();
	setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
