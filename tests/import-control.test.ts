/**
 * Cancel and pause of a running import: nothing is written after a cancel has
 * committed, and a paused import resumes where it stopped without doubling rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from '../src/lib/server/db/client';
import { getBatchOrThrow } from '../src/lib/server/batches/repository';
import type { WorkerHandle } from '../worker/index';
import { operatorToken, startRouteServer, startTestWorker, upload, useTempDataDir, waitDone, type TestServer } from './import-helpers';
import { sleep, waitFor } from './helpers';

const dataDir = useTempDataDir();
// Small chunks, so an import of a few thousand rows is still running when we act on it.
process.env.IMPORT_CHUNK_ROWS = '200';
let server: TestServer;
let worker: WorkerHandle;
let op: Awaited<ReturnType<typeof operatorToken>>;

beforeAll(async () => {
	server = await startRouteServer();
	worker = await startTestWorker();
	op = await operatorToken();
});
afterAll(async () => {
	await worker.stop();
	await server.close();
});

function csv(prefix: string, rows: number) {
	const lines = ['phone,name'];
	for (let i = 0; i < rows; i++) lines.push(`+1${prefix}5${String(i).padStart(6, '0')},N${i}`);
	return lines.join('\n');
}

const countPrefix = async (prefix: string) =>
	(await sql()<{ n: number }[]>`select count(*)::int as n from contacts where phone_e164 like ${`+1${prefix}%`}`)[0].n;

describe('import control', () => {
	it('a cancelled import stops between chunks and writes nothing afterwards', async () => {
		const res = await upload(server, op.token, csv('212', 20_000));
		expect(res.status).toBe(201);
		const id = res.body.id as string;
		await waitFor(async () => (await getBatchOrThrow(id)).processedCount > 0, 30_000, 5);
		await op.call.batch.cancel({ batchId: id });
		const done = await waitDone(id);
		expect(done.status).toBe('CANCELLED');
		expect(done.processedCount).toBeLessThan(20_000);
		expect((done.result as { created: number }).created).toBeGreaterThan(0);
		await sleep(500);
		const after = await getBatchOrThrow(id);
		expect(after.processedCount).toBe(done.processedCount);
		// Every contact written is accounted for in the batch's counts.
		expect(await countPrefix('212')).toBe((after.result as { created: number }).created);
		await waitFor(() => fs.readdirSync(path.join(dataDir, 'uploads')).length === 0);
	});

	it('a paused import resumes after the last committed chunk, each row once', async () => {
		const res = await upload(server, op.token, csv('646', 6_000));
		const id = res.body.id as string;
		await waitFor(async () => (await getBatchOrThrow(id)).processedCount > 0, 30_000, 5);
		await op.call.batch.pause({ batchId: id });
		const paused = await getBatchOrThrow(id);
		expect(paused.status).toBe('PAUSED');
		await sleep(700);
		const stillPaused = await getBatchOrThrow(id);
		expect(stillPaused.processedCount).toBe(paused.processedCount);
		await op.call.batch.resume({ batchId: id });
		const done = await waitDone(id);
		expect(done.status).toBe('COMPLETED');
		expect(done.processedCount).toBe(6_000);
		expect(done.result).toMatchObject({ created: 6_000, duplicate: 0 });
		expect(await countPrefix('646')).toBe(6_000);
	});
});
