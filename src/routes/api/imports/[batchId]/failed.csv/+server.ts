import { json, type RequestHandler } from '@sveltejs/kit';
import { z } from 'zod';
import { DomainError, httpStatus } from '$lib/server/errors';
import { failedRowsCsv, type LedgerOutcome } from '$lib/server/imports/failed-csv';

const params = z.object({
	batchId: z.string().uuid('batchId must be a batch id (UUID)'),
	outcome: z
		.string()
		.optional()
		.transform((v) => (v ? v.split(',') : ['invalid']))
		.pipe(z.array(z.enum(['invalid', 'duplicate', 'updated'], { message: 'outcome is invalid, duplicate or updated' })))
});

/** GET /api/imports/<batchId>/failed.csv[?outcome=invalid,duplicate] — any signed-in user. */
export const GET: RequestHandler = async (event) => {
	if (!event.locals.user) return json({ error: { code: 'UNAUTHORIZED', message: 'Sign in first.' } }, { status: 401 });
	const parsed = params.safeParse({ batchId: event.params.batchId, outcome: event.url.searchParams.get('outcome') ?? undefined });
	if (!parsed.success) {
		return json({ error: { code: 'BAD_INPUT', message: parsed.error.issues[0].message } }, { status: 400 });
	}
	try {
		const body = await failedRowsCsv(parsed.data.batchId, parsed.data.outcome as LedgerOutcome[]);
		return new Response(body, {
			headers: {
				'content-type': 'text/csv; charset=utf-8',
				'content-disposition': `attachment; filename="import-${parsed.data.batchId.slice(0, 8)}-failed.csv"`,
				'cache-control': 'no-store'
			}
		});
	} catch (e) {
		if (e instanceof DomainError) return json({ error: { code: e.code, message: e.message } }, { status: httpStatus(e.code) });
		throw e;
	}
};
