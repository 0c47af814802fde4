/**
 * The web side of bench:live: an HTTP server that only routes ws upgrades to the tRPC
 * ws handler (with its one LISTEN bus), as `node build` does. Prints "ready <port>".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleUpgrade, wsServer } from '../src/lib/server/trpc/ws';

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
