import { sql, type Executor, type Fragment } from '../db/client';
import type { AuditFilter, AuditListInput } from '../../schemas/audit';

/** One entry as audit.list and the CSV export give it. */
export type AuditEntry = {
	id: number;
	at: Date;
	/** id/email: the user, or the token's owner; tokenId/tokenName when a token acted. All null: nobody signed in (a failed sign-in). */
	actor: { id: number | null; email: string | null; tokenId: number | null; tokenName: string | null };
	action: string;
	target: { type: string | null; id: string | null };
	details: Record<string, unknown>;
	ip: string | null;
};

type Row = Omit<AuditEntry, 'actor' | 'target'> & {
	actorId: number | null;
	actorEmail: string | null;
	tokenId: number | null;
	tokenName: string | null;
	targetType: string | null;
	targetId: string | null;
};

const columns = (q: Executor) => q`
	id::float8 as id, at, actor_user_id::float8 as "actorId", actor_email as "actorEmail",
	actor_token_id::float8 as "tokenId", actor_token_name as "tokenName", action,
	target_type as "targetType", target_id as "targetId", details, ip`;

function where(q: Executor, f: AuditFilter): Fragment {
	const conds: Fragment[] = [q`true`];
	if (f.action) conds.push(q`action = ${f.action}`);
	if (f.actorId) conds.push(q`actor_user_id = ${f.actorId}`);
	if (f.from) conds.push(q`at >= ${f.from}`);
	if (f.to) conds.push(q`at < ${f.to}`);
	return conds.reduce((a, b) => q`${a} and ${b}`);
}

function toEntry(r: Row): AuditEntry {
	return {
		id: r.id,
		at: r.at,
		actor: { id: r.actorId, email: r.actorEmail, tokenId: r.tokenId, tokenName: r.tokenName },
		action: r.action,
		target: { type: r.targetType, id: r.targetId },
		details: r.details,
		ip: r.ip
	};
}

/** A page of entries, newest first, and how many match the filters. */
export async function listAudit(input: AuditListInput): Promise<{ items: AuditEntry[]; total: number }> {
	const q = sql();
	const [rows, [count]] = await Promise.all([
		q<Row[]>`
			select ${columns(q)}
			from audit_log
			where ${where(q, input)}
			order by at desc, id desc
			limit ${input.limit} offset ${input.offset}`,
		q<{ n: number }[]>`select count(*)::float8 as n from audit_log where ${where(q, input)}`
	]);
	return { items: rows.map(toEntry), total: count.n };
}

/** The action names present in the log, for the page's filter. */
export async function auditActions(): Promise<string[]> {
	// A loose index scan over audit_log_action_at_idx: one probe per distinct action, not a scan of the log.
	const rows = await sql()<{ action: string }[]>`
		with recursive a as (
			(select action from audit_log order by action limit 1)
			union all
			select (select action from audit_log where action > a.action order by action limit 1) from a where a.action is not null
		)
		select action from a where action is not null`;
	return rows.map((r) => r.action);
}

/**
 * Every entry matching the filters, newest first, read through a cursor in pages of
 * `pageSize`: the CSV export streams a log of any length in bounded memory.
 */
export async function* auditEntries(f: AuditFilter, pageSize = 1000): AsyncGenerator<AuditEntry[]> {
	const q = sql();
	const cursor = q<Row[]>`
		select ${columns(q)}
		from audit_log
		where ${where(q, f)}
		order by at desc, id desc`.cursor(pageSize);
	for await (const rows of cursor) yield rows.map(toEntry);
}
