import { sql, transaction, type Executor } from '../db/client';
import { badInput, conflict, notFound } from '../errors';
import { contactWhere } from '../contacts/filter';
import type { Fragment } from '../db/client';
import type { ContactFilter } from '../../schemas/targets';
import { render, variablesOf } from './render';
import { audit, type AuditCtx } from '../audit/record';

export type TemplateRow = { id: number; name: string; body: string; createdBy: number | null; createdAt: Date; updatedAt: Date };

/** A templates row under the names of TemplateRow. */
const columns = (ex: Executor) =>
	ex`id::int as id, name, body, created_by::int as "createdBy", created_at as "createdAt", updated_at as "updatedAt"`;

function uniqueViolation(e: unknown) {
	return (e as { code?: string }).code === '23505';
}

export async function listTemplates(): Promise<TemplateRow[]> {
	const q = sql();
	return q<TemplateRow[]>`select ${columns(q)} from templates order by name`;
}

export async function getTemplate(id: number): Promise<TemplateRow> {
	const q = sql();
	const [row] = await q<TemplateRow[]>`select ${columns(q)} from templates where id = ${id}`;
	if (!row) throw notFound(`No template ${id}.`, 'templateId');
	return row;
}

export async function createTemplate(input: { name: string; body: string }, userId: number | null, by?: AuditCtx): Promise<TemplateRow> {
	try {
		return await transaction(async (tx) => {
			const [row] = await tx<TemplateRow[]>`
				insert into templates (name, body, created_by) values (${input.name}, ${input.body}, ${userId})
				returning ${columns(tx)}`;
			await audit(tx, by, 'templates.create', { type: 'template', id: row.id }, { after: { name: row.name, body: row.body } });
			return row;
		});
	} catch (e) {
		if (uniqueViolation(e)) throw conflict(`A template named "${input.name}" exists already.`, 'name');
		throw e;
	}
}

export async function updateTemplate(input: { id: number; name?: string; body?: string }, by?: AuditCtx): Promise<TemplateRow> {
	try {
		return await transaction(async (tx) => {
			const [before] = await tx<{ name: string; body: string }[]>`select name, body from templates where id = ${input.id} for update`;
			if (!before) throw notFound(`No template ${input.id}.`, 'id');
			const [row] = await tx<TemplateRow[]>`
				update templates set name = coalesce(${input.name ?? null}, name), body = coalesce(${input.body ?? null}, body), updated_at = now()
				where id = ${input.id} returning ${columns(tx)}`;
			await audit(tx, by, 'templates.update', { type: 'template', id: row.id }, { before, after: { name: row.name, body: row.body } });
			return row;
		});
	} catch (e) {
		if (uniqueViolation(e)) throw conflict(`A template named "${input.name}" exists already.`, 'name');
		throw e;
	}
}

/** Batches keep their own copy of the body, so deleting a template never changes a running send. */
export async function deleteTemplate(id: number, by?: AuditCtx): Promise<void> {
	await transaction(async (tx) => {
		const [row] = await tx<{ name: string; body: string }[]>`delete from templates where id = ${id} returning name, body`;
		if (!row) throw notFound(`No template ${id}.`, 'id');
		await audit(tx, by, 'templates.delete', { type: 'template', id }, { before: row });
	});
}

type PreviewInput = { body?: string; templateId?: number; contactIds?: number[]; filter?: ContactFilter; sample: number };

/**
 * Renders a body for a few recipients and counts, over all recipients, those missing a
 * variable (no value and no default). Opted-out contacts are left out, as the send does.
 */
export async function previewTemplate(input: PreviewInput) {
	const body = input.body ?? (await getTemplate(input.templateId!)).body;
	try {
		return await transaction((tx) => previewIn(tx, body, input));
	} catch (e) {
		if ((e as { code?: string }).code === '57014') {
			throw badInput(`This preview took over ${PREVIEW_TIMEOUT_MS / 1000} s: narrow the recipients or use fewer variables.`, 'filter');
		}
		throw e;
	}
}

/**
 * Any signed-in user (viewers too) may preview over the whole contact base: the counts
 * run under a statement timeout, so one call cannot keep PostgreSQL busy for long.
 */
const PREVIEW_TIMEOUT_MS = 5_000;

async function previewIn(q: Executor, body: string, input: PreviewInput) {
	await q`select set_config('statement_timeout', ${String(PREVIEW_TIMEOUT_MS)}, true)`;
	const vars = variablesOf(body);
	let where: Fragment;
	if (input.contactIds) where = q`c.id = any(${input.contactIds}::bigint[])`;
	else if (input.filter) where = contactWhere(input.filter);
	else where = q`true`;
	const base = q`from contacts c where ${where} and c.opted_out_at is null`;
	const samples = await q<{ id: number; phone: string; name: string | null; attributes: Record<string, unknown> }[]>`
		select c.id::int as id, c.phone_e164 as phone, c.name, c.attributes ${base} order by c.id limit ${input.sample}`;
	// A variable is missing for a contact when it has no default and the field is empty.
	const required = [...body.matchAll(/\{\{\s*([\p{L}\p{N}_.-]+)\s*(\|[^}]*)?\}\}/gu)].filter((m) => m[2] === undefined).map((m) => m[1]);
	const conds = [...new Set(required)].map((k) =>
		k === 'name'
			? q`coalesce(trim(c.name), '') = ''`
			: k === 'phone'
				? q`false`
				: q`coalesce(trim(c.attributes ->> ${k}), '') = ''`
	);
	const missingSql = conds.length ? conds.reduce((a, c) => q`${a} or ${c}`) : q`false`;
	const [counts] = await q<{ recipients: number; missing: number }[]>`
		select count(*)::int as recipients, count(*) filter (where ${missingSql})::int as missing ${base}`;
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
