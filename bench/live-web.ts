/**
 * The web side of bench:live: an HTTP server that only routes ws upgrades to the tRPC
 * ws handler (with its one LISTEN bus), as `node build` does. Prints "ready <port>".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { handleUpgrade, wsServer } from '../src/lib/server/trpc/ws';

// How late this process's event loop runs (CPU starvation shows here), reported every second.
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
setInterval(() => {
	console.log(`lag ${(lag.percentile(50) / 1e6).toFixed(1)} ${(lag.percentile(99) / 1e6).toFixed(1)}`);
}, 1000).unref();

const server = http.createServer((_, res) => res.writeHead(404).end());
server.on('upgrade', (req, socket, head) => {
	if (!handleUpgrade(req, socket, head)) socket.destroy();
});
server.listen(0, '127.0.0.1', () => {
	console.log(`ready ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
	wsServer().close();
	server.close(() => process.exit(0));
	setTimeout(() => process.exit(0), 2000).unref();
});
