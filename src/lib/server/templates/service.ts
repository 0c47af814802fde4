import { sql as dsql, type SQL } from 'drizzle-orm';
import { sql } from '../db/client';
import { badInput, conflict, notFound } from '../errors';
import { contactFilterSql } from '../contacts/filter';
import type { ContactFilter } from '../../schemas/targets';
import { render, variablesOf } from './render';
import { db } from '../db/client';

export type TemplateRow = { id: number; name: string; body: string; createdBy: number | null; createdAt: string; updatedAt: string };

const COLS = `id::int as id, name, body, created_by as "createdBy", created_at as "createdAt", updated_at as "updatedAt"`;

function uniqueViolation(e: unknown) {
	return (e as { code?: string }).code === '23505';
}

export async function listTemplates(): Promise<TemplateRow[]> {
	return sql().unsafe(`select ${COLS} from templates order by name`) as unknown as Promise<TemplateRow[]>;
}

export async function getTemplate(id: number): Promise<TemplateRow> {
	const [row] = (await sql().unsafe(`select ${COLS} from templates where id = $1`, [id])) as unknown as TemplateRow[];
	if (!row) throw notFound(`No template ${id}.`, 'templateId');
	return row;
}

export async function createTemplate(input: { name: string; body: string }, userId: number | null): Promise<TemplateRow> {
	try {
		const [row] = (await sql().unsafe(
			`insert into templates (name, body, created_by) values ($1, $2, $3) returning ${COLS}`,
			[input.name, input.body, userId]
		)) as unknown as TemplateRow[];
		return row;
	} catch (e) {
		if (uniqueViolation(e)) throw conflict(`A template named "${input.name}" exists already.`, 'name');
		throw e;
	}
}

export async function updateTemplate(input: { id: number; name?: string; body?: string }): Promise<TemplateRow> {
	try {
		const [row] = (await sql().unsafe(
			`update templates set name = coalesce($2, name), body = coalesce($3, body), updated_at = now()
			 where id = $1 returning ${COLS}`,
			[input.id, input.name ?? null, input.body ?? null]
		)) as unknown as TemplateRow[];
		if (!row) throw notFound(`No template ${input.id}.`, 'id');
		return row;
	} catch (e) {
		if (uniqueViolation(e)) throw conflict(`A template named "${input.name}" exists already.`, 'name');
		throw e;
	}
}

/** Batches keep their own copy of the body, so deleting a template never changes a running send. */
export async function deleteTemplate(id: number): Promise<void> {
	const rows = await sql()`delete from templates where id = ${id} returning id`;
	if (rows.length === 0) throw notFound(`No template ${id}.`, 'id');
}

type PreviewInput = { body?: string; templateId?: number; contactIds?: number[]; filter?: ContactFilter; sample: number };

/**
 * Renders a body for a few recipients and counts, over all recipients, those missing a
 * variable (no value and no default). Opted-out contacts are left out, as the send does.
 */
export async function previewTemplate(input: PreviewInput) {
	const body = input.body ?? (await getTemplate(input.templateId!)).body;
	const vars = variablesOf(body);
	let where: SQL;
	if (input.contactIds) where = dsql`c.id = any(${dsql.param(input.contactIds)}::bigint[])`;
	else if (input.filter) where = contactFilterSql(input.filter);
	else where = dsql`true`;
	const base = dsql`from contacts c where ${where} and c.opted_out_at is null`;
	const samples = (await db().execute(
		dsql`select c.id::int as id, c.phone_e164 as phone, c.name, c.attributes ${base} order by c.id limit ${input.sample}`
	)) as unknown as { id: number; phone: string; name: string | null; attributes: Record<string, unknown> }[];
	// A variable is missing for a contact when it has no default and the field is empty.
	const required = [...body.matchAll(/\{\{\s*([\p{L}\p{N}_.-]+)\s*(\|[^}]*)?\}\}/gu)].filter((m) => m[2] === undefined).map((m) => m[1]);
	const conds = [...new Set(required)].map((k) =>
		k === 'name'
			? dsql`coalesce(trim(c.name), '') = ''`
			: k === 'phone'
				? dsql`false`
				: dsql`coalesce(trim(c.attributes ->> ${k}), '') = ''`
	);
	const missingSql = conds.length ? dsql.join(conds, dsql` or `) : dsql`false`;
	const [counts] = (await db().execute(
		dsql`select count(*)::int as recipients, count(*) filter (where ${missingSql})::int as missing ${base}`
	)) as unknown as { recipients: number; missing: number }[];
	if (!body.trim()) throw badInput('Body cannot be empty', 'body');
	return {
		body,
		variables: vars,
		recipients: counts.recipients,
		missingCount: counts.missing,
		samples: samples.map((c) => {
			const r = render(body, { name: c.name, phone: c.phone, attributes: c.attributes });
			return { contactId: c.id, phone: c.phone, name: c.name, text: r.text, missing: r.missing };
		})
	};
}
