import { json, type RequestHandler } from '@sveltejs/kit';
import { z } from 'zod';
import { uploadParams } from '$lib/schemas/import';
import { DomainError, httpStatus } from '$lib/server/errors';
import { receiveCsvUpload, sweepOrphanUploadsNowAndThen, UploadStorageError } from '$lib/server/imports/upload';
import { logger } from '$lib/server/log';
import { createUploadImport } from '$lib/server/imports/create';
import { clientIp } from '$lib/server/trpc/http-context';
import { discardUpload } from '$lib/server/imports/upload-store';

/**
 * POST /api/imports — the streaming CSV upload (not tRPC: the body is the raw file,
 * streamed into PostgreSQL chunk by chunk, never buffered). Options in the query string; cookie or
 * `Authorization: Bearer` auth (set by hooks.server.ts); operator role.
 * Returns 201 with the PENDING IMPORT batch. Header `Idempotency-Key`: the same key
 * with the same file and options returns the same batch (header Idempotent-Replayed),
 * with another file a 409. A database that is full answers 507, another failure to
 * store the file 500, both leaving no batch and no stored bytes.
 */
export const POST: RequestHandler = async (event) => {
	const user = event.locals.user;
	if (!user) return problem(401, 'UNAUTHORIZED', 'Sign in or send an API token (Authorization: Bearer …).');
	if (user.role === 'viewer') return problem(403, 'FORBIDDEN', 'Importing needs the operator role.');

	const parsed = uploadParams.safeParse(Object.fromEntries(event.url.searchParams));
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		return problem(400, 'BAD_INPUT', issue.message, String(issue.path[0] ?? ''), z.flattenError(parsed.error));
	}
	const { mapping, filename, ...options } = parsed.data;
	const key = event.request.headers.get('idempotency-key')?.trim() || null;
	if (key && key.length > 200) return problem(400, 'BAD_INPUT', 'Idempotency-Key is at most 200 characters.', 'Idempotency-Key');
	const length = event.request.headers.get('content-length');
	sweepOrphanUploadsNowAndThen();
	let stored: string | null = null;
	try {
		const upload = await receiveCsvUpload({
			body: event.request.body,
			contentLength: length === null ? null : Number(length),
			fileName: filename ?? 'upload.csv',
			mapping
		});
		stored = upload.uploadId;
		const { batch, replayed } = await createUploadImport(user.id, options, upload, key, { user, ip: clientIp(event) });
		if (replayed) await discardUpload(upload.uploadId);
		stored = null;
		return json(batch, { status: 201, headers: replayed ? { 'idempotent-replayed': 'true' } : {} });
	} catch (e) {
		// No batch was created: its upload must not stay behind (else the orphan sweep takes it).
		if (stored) await discardUpload(stored).catch(() => {});
		if (e instanceof DomainError) {
			// Too large: the rest is not read, the connection closes. Otherwise the rest of a
			// refused body is read and dropped (a few MB at most) first: closing with unread
			// bytes resets the connection, and the client may see EPIPE instead of our answer.
			const close = e.code === 'PAYLOAD_TOO_LARGE' || !(await drained(event.request.body));
			return problem(httpStatus(e.code), e.code, e.message, e.field, null, close);
		}
		if (e instanceof UploadStorageError) {
			logger.child({ module: 'import' }).error({ err: e.cause, status: e.status }, 'upload could not be stored');
			return problem(e.status, e.code, e.message, 'file', null, !(await drained(event.request.body)));
		}
		throw e;
	}
};

const DRAIN_MAX_BYTES = 32 * 1024 * 1024;
const DRAIN_MAX_MS = 3_000;

/** Reads the rest of a request body and drops it; false when it is bigger or slower than the caps above. */
async function drained(body: ReadableStream<Uint8Array> | null): Promise<boolean> {
	if (!body) return true;
	let reader: ReadableStreamDefaultReader<Uint8Array>;
	try {
		reader = body.getReader();
	} catch {
		return false;
	}
	const deadline = Date.now() + DRAIN_MAX_MS;
	let bytes = 0;
	let timer: NodeJS.Timeout | undefined;
	try {
		for (;;) {
			const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()))));
			const next = await Promise.race([reader.read(), late]);
			clearTimeout(timer);
			if (!next) return false;
			if (next.done) return true;
			bytes += next.value.byteLength;
			if (bytes > DRAIN_MAX_BYTES) return false;
		}
	} catch {
		return false;
	}
}

function problem(status: number, code: string, message: string, field?: string, zodError?: unknown, close = false) {
	return json(
		{ error: { code, message, field: field ?? null, zodError: zodError ?? null } },
		{ status, headers: close ? { connection: 'close' } : {} }
	);
}
