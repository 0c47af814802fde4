import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type RecordedRequest = {
	at: number;
	/** When the request had arrived whole, in ms with sub-millisecond precision (gaps between sends). */
	hrAt: number;
	method: string;
	path: string;
	headers: http.IncomingHttpHeaders;
	body: string;
	idempotencyKey: string | undefined;
};

/** What to do with the next request: answer, or misbehave. */
export type Behaviour =
	| { kind: 'ok' }
	| { kind: 'status'; status: number; retryAfter?: string; body?: string }
	| { kind: 'hang' }
	| { kind: 'reset' }
	| { kind: 'delay'; ms: number };

/**
 * A local HTTP provider for tests: records every request (with its Idempotency-Key)
 * and answers as told: 200 with an id, 429 with Retry-After, 500, hang, or reset.
 * `plan` is consulted per request (by index and request), default 200.
 */
export async function startFakeProvider(
	plan: (n: number, req: RecordedRequest) => Behaviour = () => ({ kind: 'ok' }),
	/** port: listen there (a provider that comes back on the address a channel already has). */
	opts: { port?: number } = {}
) {
	const requests: RecordedRequest[] = [];
	const sockets = new Set<import('node:net').Socket>();
	let n = 0;
	// Requests received and not yet answered, and the most there ever were at once.
	const load = { inFlight: 0, maxInFlight: 0 };
	const server = http.createServer((req, res) => {
		load.maxInFlight = Math.max(load.maxInFlight, ++load.inFlight);
		res.on('close', () => load.inFlight--);
		const chunks: Buffer[] = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', async () => {
			const rec: RecordedRequest = {
				at: Date.now(),
				hrAt: performance.timeOrigin + performance.now(),
				method: req.method ?? '',
				path: req.url ?? '',
				headers: req.headers,
				body: Buffer.concat(chunks).toString('utf8'),
				idempotencyKey: req.headers['idempotency-key'] as string | undefined
			};
			requests.push(rec);
			const b = plan(n++, rec);
			if (b.kind === 'hang') return; // never answers; the client times out
			if (b.kind === 'reset') return req.socket.destroy();
			if (b.kind === 'delay') await new Promise((r) => setTimeout(r, b.ms));
			if (b.kind === 'status') {
				const headers: Record<string, string> = { 'content-type': 'application/json' };
				if (b.retryAfter) headers['retry-after'] = b.retryAfter;
				res.writeHead(b.status, headers).end(b.body ?? JSON.stringify({ error: `status ${b.status}` }));
				return;
			}
			const id = `msg_${requests.length}`;
			// Answers in the shape of each provider's API, whichever path was called.
			const json = rec.path.includes('/Messages.json')
				? { sid: `SM${id}` }
				: rec.path.endsWith('/messages')
					? { messages: [{ id: `wamid.${id}` }] }
					: { id };
			res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json));
		});
	});
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		load,
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((r) => server.close(() => r()));
		}
	};
}

/** Twilio's documented error answer: JSON { code, message, more_info, status } with that HTTP status. */
export function twilioError(code: number, status = 400, message = `Twilio error ${code}`): Behaviour {
	return {
		kind: 'status',
		status,
		body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status })
	};
}

/** A Graph API error as the WhatsApp Cloud API answers it: { error: { message, type, code, error_data, fbtrace_id } }. */
export function graphError(code: number, status = 400, message = `(#${code}) WhatsApp error`, details?: string): Behaviour {
	return {
		kind: 'status',
		status,
		body: JSON.stringify({
			error: {
				message,
				type: 'OAuthException',
				code,
				...(details ? { error_data: { messaging_product: 'whatsapp', details } } : {}),
				fbtrace_id: 'AbCdEf123'
			}
		})
	};
}

/** The recipient of a recorded Twilio (form To) or WhatsApp (JSON to, with its +) request. */
export function recipientOf(req: RecordedRequest): string {
	if (req.path.includes('/Messages.json')) return new URLSearchParams(req.body).get('To') ?? '';
	const to = (JSON.parse(req.body) as { to?: string }).to ?? '';
	return to.startsWith('+') ? to : `+${to}`;
}

/**
 * The most timestamps (ms) inside any window of `windowMs` starting at one of them:
 * what a receiver saw in its busiest second (tests and bench:providers hold a cap by it).
 */
export function maxInWindow(times: number[], windowMs: number) {
	const t = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let i = 0, j = 0; i < t.length; i++) {
		while (j < t.length && t[j] < t[i] + windowMs) j++;
		best = Math.max(best, j - i);
	}
	return best;
}
