import { z } from 'zod';
import { transaction } from '../db/client';
import { env } from '../env';
import { badInput, DomainError } from '../errors';
import { batchForKey, recordKey, requestHash } from '../batches/idempotency';
import { enqueue } from '../jobs/enqueue';
import { TASK } from '../jobs/payloads';
import { insertBatch, toBatchDto } from '../batches/repository';
import { publishBatchUpdate } from '../events/publish';
import type { Newline } from './csv-source';
import { audit, type AuditCtx } from '../audit/record';
import { columnMapping, csvHeader, importOptions, type ColumnTarget, type ImportJsonInput, type ImportOptions } from '../../schemas/import';

/** What an IMPORT batch keeps in `input`: its options and, for uploads, how to read the file. */
export const storedImportInput = importOptions.extend({
	format: z.enum(['json', 'csv']),
	contactCount: z.number().int().optional(),
	fileName: z.string().optional(),
	bytes: z.number().optional(),
	header: csvHeader.optional(),
	mapping: columnMapping.optional(),
	delimiter: z.string().optional(),
	newline: z.enum(['\n', '\r']).optional()
});
export type StoredImportInput = z.infer<typeof storedImportInput>;

/** Import jobs resume from the last committed chunk, so a few retries are safe. */
const IMPORT_MAX_ATTEMPTS = 5;

/**
 * batch.import: the PENDING batch and its job in one transaction. The contacts travel
 * in the job's payload (capped, ~1 MB at most) rather than in the batch's input, so
 * listing batches never drags them along, and a worker on any host can read them.
 */
export async function createJsonImport(userId: number, input: ImportJsonInput, by?: AuditCtx) {
	const max = env().imports.jsonMaxContacts;
	if (input.contacts.length > max) {
		throw new DomainError(
			'PAYLOAD_TOO_LARGE',
			`batch.import takes at most ${max} contacts (got ${input.contacts.length}); upload larger lists as a CSV file (POST /api/imports).`,
			'contacts'
		);
	}
	const { contacts, idempotencyKey, ...options } = input;
	const stored: StoredImportInput = { ...options, format: 'json', contactCount: contacts.length };
	const hash = idempotencyKey ? requestHash('IMPORT', { ...options, contacts }) : '';
	const row = await transaction(async (tx) => {
		if (idempotencyKey) {
			const existing = await batchForKey(tx, userId, idempotencyKey, hash);
			if (existing) return existing;
		}
		const b = await insertBatch(tx, { type: 'IMPORT', input: stored, totalCount: contacts.length, createdBy: userId });
		if (idempotencyKey) await recordKey(tx, b.id, idempotencyKey, hash);
		await enqueue(TASK.importRun, { batchId: b.id, contacts }, { maxAttempts: IMPORT_MAX_ATTEMPTS }, tx);
		await audit(tx, by, 'batch.import', { type: 'batch', id: b.id }, stored);
		return b;
	});
	await publishBatchUpdate(row.id, { statusChange: true });
	return toBatchDto(row);
}

export type StoredUpload = {
	/** Its chunks in upload_chunks. */
	uploadId: string;
	bytes: number;
	fileName: string;
	header: string[];
	mapping: ColumnTarget[];
	delimiter: string;
	newline: Newline;
	/** Data records counted while streaming (blank ones included): the progress total. */
	records: number;
	/** Of the file's bytes: with an idempotency key, the same file and options are the same request. */
	sha256: string;
};

/**
 * The streaming upload's end: the PENDING batch, its upload row and its job, in one
 * transaction. With an idempotency key already used for the same file and options, the
 * batch that key created (`replayed`: the caller removes the upload it just stored).
 */
export async function createUploadImport(
	userId: number,
	options: ImportOptions,
	upload: StoredUpload,
	idempotencyKey?: string | null,
	by?: AuditCtx
): Promise<{ batch: ReturnType<typeof toBatchDto>; replayed: boolean }> {
	const stored: StoredImportInput = {
		...options,
		format: 'csv',
		fileName: upload.fileName,
		bytes: upload.bytes,
		header: upload.header,
		mapping: upload.mapping,
		delimiter: upload.delimiter,
		newline: upload.newline
	};
	// What the worker will parse, checked now: a batch it would refuse is never created.
	const check = storedImportInput.safeParse(stored);
	if (!check.success) {
		const issue = check.error.issues[0];
		throw badInput(`${issue.message} (${issue.path.join('.')}).`, issue.path[0] === 'mapping' ? 'mapping' : String(issue.path[0] ?? 'file'));
	}
	const hash = idempotencyKey ? requestHash('IMPORT-CSV', { ...options, sha256: upload.sha256, mapping: upload.mapping }) : '';
	let replayed = false;
	const row = await transaction(async (tx) => {
		if (idempotencyKey) {
			const existing = await batchForKey(tx, userId, idempotencyKey, hash, 'Idempotency-Key');
			if (existing) {
				replayed = true;
				return existing;
			}
		}
		const b = await insertBatch(tx, { type: 'IMPORT', input: stored, totalCount: upload.records, createdBy: userId });
		if (idempotencyKey) await recordKey(tx, b.id, idempotencyKey, hash);
		await tx`
			insert into import_uploads (batch_id, upload_id, bytes, header)
			values (${b.id}, ${upload.uploadId}, ${upload.bytes}, ${JSON.stringify(upload.header)}::jsonb)`;
		await enqueue(TASK.importRun, { batchId: b.id }, { maxAttempts: IMPORT_MAX_ATTEMPTS }, tx);
		// The options and the file's name, size and row count; the header stays in the batch.
		const { header: _h, mapping: _m, ...options } = stored;
		await audit(tx, by, 'upload', { type: 'batch', id: b.id }, { ...options, records: upload.records });
		return b;
	});
	if (!replayed) await publishBatchUpdate(row.id, { statusChange: true });
	return { batch: toBatchDto(row), replayed };
}
