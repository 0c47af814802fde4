import { json, type RequestHandler } from '@sveltejs/kit';
import { z } from 'zod';
import { auditFilter } from '$lib/schemas/audit';
import { auditCsv } from '$lib/server/audit/csv';

/**
 * GET /api/audit.csv[?action=&actorId=&from=&to=] — the audit log as CSV, with the
 * filters of audit.list (and of the page's URL), newest first. Admins only, cookie or
 * `Authorization: Bearer`.
 */
export const GET: RequestHandler = async (event) => {
	const user = event.locals.user;
	if (!user) return json({ error: { code: 'UNAUTHORIZED', message: 'Sign in first.' } }, { status: 401 });
	if (user.role !== 'admin') return json({ error: { code: 'FORBIDDEN', message: 'This needs the admin role.' } }, { status: 403 });
	const parsed = auditFilter.safeParse(Object.fromEntries(event.url.searchParams));
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		return json(
			{ error: { code: 'BAD_INPUT', message: issue.message, field: String(issue.path[0] ?? ''), zodError: z.flattenError(parsed.error) } },
			{ status: 400 }
		);
	}
	const stamp = new Date().toISOString().slice(0, 10);
	return new Response(auditCsv(parsed.data), {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="audit-${stamp}.csv"`,
			'cache-control': 'no-store'
		}
	});
};
