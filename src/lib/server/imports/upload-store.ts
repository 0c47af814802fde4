import { randomUUID } from 'node:crypto';
import { sql, type Executor } from '../db/client';
import { DomainError } from '../errors';
import { logger } from '../log';

/**
 * Bytes per stored chunk. Measured on the embedded PostgreSQL 17 (2 loaded cores, 96 MiB
 * of CSV): 1 MiB bytea rows wrote ~9 MB/s and read ~20 MB/s, COPY of the same rows ~11,
 * large objects (lo_put/lo_get by 1 MiB) ~10 and ~27: the same within noise, all bound
 * by PostgreSQL's writes. Rows won for what they do not need: no lo_unlink bookkeeping
 * (a deleted row is gone; orphaned large objects need vacuumlo), no large-object
 * privileges on a managed server, and a plain DELETE to sweep. Default TOAST
 * compression (pglz) kept: a CSV takes a fifth of its size on disk and in the WAL, for
 * about the same write speed as uncompressed storage.
 */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes an upload as it streams: bytes are gathered into ~1 MiB chunks, each inserted
 * on its own (autocommit) while the next one is gathered, so at most two chunks are in
 * memory and an upload holds no connection between chunks. A failed insert surfaces at
 * the next write or at end().
 */
export class UploadWriter {
	readonly id = randomUUID();
	private parts: Buffer[] = [];
	private partBytes = 0;
	private seq = 0;
	private inFlight: Promise<void> = Promise.resolve();

	constructor(private readonly ex: Executor = sql()) {}

	async write(chunk: Buffer) {
		this.parts.push(chunk);
		this.partBytes += chunk.length;
		if (this.partBytes >= UPLOAD_CHUNK_BYTES) await this.send();
	}

	/** Every byte stored; throws what the database refused. */
	async end() {
		if (this.partBytes > 0) await this.send();
		await this.inFlight;
	}

	/** After a failure: waits for the insert in flight, then removes what was stored. */
	async discard() {
		await this.inFlight.catch(() => {});
		this.parts = [];
		await discardUpload(this.id);
	}

	private async send() {
		const data = Buffer.concat(this.parts, this.partBytes);
		this.parts = [];
		this.partBytes = 0;
		await this.inFlight;
		const seq = this.seq++;
		this.inFlight = this.ex`insert into upload_chunks (upload_id, seq, data) values (${this.id}, ${seq}, ${data})`.then(() => {});
		this.inFlight.catch(() => {}); // observed by the next send or end()
	}
}

/**
 * The bytes of a stored upload, chunk by chunk in order, the next one fetched while the
 * caller works on the current one. Throws when the upload is gone or shorter than
 * `bytes` (removed by a sweep, or never complete).
 */
export async function* uploadBytes(uploadId: string, bytes: number): AsyncGenerator<Buffer> {
	const fetch = (seq: number) =>
		sql()<{ data: Buffer }[]>`select data from upload_chunks where upload_id = ${uploadId} and seq = ${seq}`.then((r) => r[0]?.data ?? null);
	let seq = 0;
	let read = 0;
	let next = fetch(0);
	for (;;) {
		const data = await next;
		if (!data) break;
		next = fetch(++seq);
		next.catch(() => {}); // awaited on the next turn
		read += data.length;
		yield data;
	}
	if (read !== bytes) {
		throw new DomainError(
			'NOT_FOUND',
			read === 0 ? 'The uploaded file of this import is gone.' : `The uploaded file of this import is incomplete (${read} of ${bytes} bytes stored).`
		);
	}
}

/** Removes a stored upload (its import ended, or it never became one). */
export async function discardUpload(uploadId: string, ex: Executor = sql()) {
	await ex`delete from upload_chunks where upload_id = ${uploadId}`;
}

/** An upload whose last chunk is this old and that no pending import needs is an orphan; one in progress writes a chunk every few seconds at most. */
const ORPHAN_AFTER_MS = 15 * 60_000;

/**
 * Removes stored uploads no pending import needs: left by a web process killed
 * mid-upload (before its batch was created), or by an import that ended without
 * removing its upload (a worker killed in between). One statement. Returns the upload
 * ids removed.
 */
export async function sweepOrphanUploadRows(opts: { olderThanMs?: number } = {}): Promise<string[]> {
	const olderThanMs = opts.olderThanMs ?? ORPHAN_AFTER_MS;
	const rows = await sql()<{ upload_id: string }[]>`
		with stale as (
			select upload_id from upload_chunks
			group by upload_id
			having max(written_at) <= now() - make_interval(secs => ${olderThanMs / 1000})
		), orphan as (
			select s.upload_id from stale s
			where not exists (
				select 1 from import_uploads u join batch_operations b on b.id = u.batch_id
				where u.upload_id = s.upload_id and b.status not in ('COMPLETED', 'FAILED', 'CANCELLED'))
		), gone as (
			delete from upload_chunks c using orphan o where c.upload_id = o.upload_id
			returning c.upload_id
		)
		select distinct upload_id from gone`;
	const removed = rows.map((r) => r.upload_id);
	if (removed.length) logger.child({ module: 'import' }).info({ uploads: removed.length }, 'removed orphaned uploads');
	return removed;
}
