/**
 * Shared by the import tests: the real upload/download route handlers behind a real
 * Node HTTP server (Bearer-token auth as in hooks.server.ts), an in-process worker,
 * and a data folder of this test file's own.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { resetEnvCache } from '../src/lib/server/env';
import { bearerFrom, resolveAuth } from '../src/lib/server/auth/resolve';
import { createApiToken } from '../src/lib/server/auth/tokens';
import { startWorker, type WorkerHandle } from '../worker/index';
import { POST as uploadRoute } from '../src/routes/api/imports/+server';
import { GET as failedRoute } from '../src/routes/api/imports/[batchId]/failed.csv/+server';
import { getBatchOrThrow, toStatusDto } from '../src/lib/server/batches/repository';
import { isTerminal } from '../src/lib/server/batches/transitions';
import { userCaller, waitFor } from './helpers';

export function useTempDataDir(): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-import-test-'));
	process.env.BATCHDESK_DATA_DIR = dir;
	resetEnvCache();
	return dir;
}

/** The request body as adapter-node builds it (@sveltejs/kit/node get_raw_body): cancel destroys the socket. */
function bodyOf(req: http.IncomingMessage): ReadableStream<Uint8Array> {
	let cancelled = false;
	return new ReadableStream<Uint8Array>({
		start(controller) {
			req.on('error', (e) => {
				cancelled = true;
				controller.error(e);
			});
			req.on('end', () => {
				if (!cancelled) controller.close();
			});
			req.on('data', (chunk: Buffer) => {
				if (cancelled) return;
				controller.enqueue(new Uint8Array(chunk));
				if (controller.desiredSize === null || controller.desiredSize <= 0) req.pause();
			});
		},
		pull() {
			req.resume();
		},
		cancel(reason) {
			cancelled = true;
			req.destroy(reason);
		}
	});
}

export type TestServer = { url: string; close(): Promise<void> };

export async function startRouteServer(): Promise<TestServer> {
	const server = http.createServer(async (req, res) => {
		try {
			const url = new URL(req.url ?? '/', 'http://127.0.0.1');
			const auth = await resolveAuth({ bearer: bearerFrom(req.headers.authorization) });
			const headers = new Headers();
			for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
			const request = new Request(url, {
				method: req.method,
				headers,
				body: req.method === 'POST' && req.headers['content-type'] ? bodyOf(req) : undefined,
				// @ts-expect-error Node's fetch needs duplex for streamed bodies
				duplex: 'half'
			});
			const locals = { user: auth.user, sessionToken: null };
			const failed = /^\/api\/imports\/([^/]+)\/failed\.csv$/.exec(url.pathname);
			// eslint-disable-next-line @typescript-eslint/no-explicit-any
			const event: any = { request, url, locals, params: failed ? { batchId: failed[1] } : {} };
			const response =
				req.method === 'POST' && url.pathname === '/api/imports'
					? await uploadRoute(event)
					: req.method === 'GET' && failed
						? await failedRoute(event)
						: new Response('not found', { status: 404 });
			res.writeHead(response.status, Object.fromEntries(response.headers));
			if (response.body) for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) res.write(part);
			res.end();
		} catch (e) {
			res.writeHead(500).end(String(e));
		}
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () =>
			new Promise<void>((r) => {
				server.closeAllConnections();
				server.close(() => r());
			})
	};
}

export async function operatorToken() {
	const { user, call } = await userCaller('operator');
	return { user, call, token: (await createApiToken(user.id, 'import test')).token };
}

export type UploadResult = { status: number; body: { id?: string; error?: { code: string; message: string; field: string | null } } & Record<string, unknown> };

export async function upload(
	server: TestServer,
	token: string,
	content: string | Buffer,
	params: Record<string, string> = {}
): Promise<UploadResult> {
	const qs = new URLSearchParams(params).toString();
	const res = await fetch(`${server.url}/api/imports${qs ? `?${qs}` : ''}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
		body: typeof content === 'string' ? content : new Uint8Array(content)
	});
	return { status: res.status, body: await res.json() };
}

export async function waitDone(batchId: string) {
	const done = await waitFor(async () => {
		const b = await getBatchOrThrow(batchId);
		return isTerminal(b.status) ? { ...toStatusDto(b), result: b.result as Record<string, number> } : null;
	}, 30_000);
	return done!;
}

export async function startTestWorker(): Promise<WorkerHandle> {
	return startWorker({ concurrency: 4 });
}
