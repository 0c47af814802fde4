import { json, type RequestHandler } from '@sveltejs/kit';
import { z } from 'zod';
import { uploadParams } from '$lib/schemas/import';
import { DomainError, httpStatus } from '$lib/server/errors';
import { receiveCsvUpload } from '$lib/server/imports/upload';
import { createUploadImport } from '$lib/server/imports/create';

/**
 * POST /api/imports — the streaming CSV upload (not tRPC: the body is the raw file,
 * streamed to disk, never buffered). Options in the query string; cookie or
 * `Authorization: Bearer` auth (set by hooks.server.ts); operator role.
 * Returns 201 with the PENDING IMPORT batch.
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
	const length = event.request.headers.get('content-length');
	try {
		const upload = await receiveCsvUpload({
			body: event.request.body,
			contentLength: length === null ? null : Number(length),
			fileName: filename ?? 'upload.csv',
			mapping
		});
		const batch = await createUploadImport(user.id, options, upload);
		return json(batch, { status: 201 });
	} catch (e) {
		// The rest of a refused body is not read: close the connection rather than drain it.
		if (e instanceof DomainError) return problem(httpStatus(e.code), e.code, e.message, e.field, null, true);
		throw e;
	}
};

function problem(status: number, code: string, message: string, field?: string, zodError?: unknown, close = false) {
	return json(
		{ error: { code, message, field: field ?? null, zodError: zodError ?? null } },
		{ status, headers: close ? { connection: 'close' } : {} }
	);
}
