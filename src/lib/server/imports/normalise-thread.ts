/**
 * A worker thread that turns CSV records into staged rows (mapping, cleaning,
 * E.164 normalisation: the import's CPU-heavy part), so it runs on another core
 * while the main thread parses, de-duplicates and talks to Postgres.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { csvRowReader, type RowOptions } from './records';
import type { ThreadRow } from './normalise-pool';
import type { ColumnTarget } from '../../schemas/import';

const { mapping, opts } = workerData as { mapping: ColumnTarget[]; opts: RowOptions };
const read = csvRowReader(mapping, opts);

parentPort?.on('message', (msg: { id: number; records: string[][]; firstRow: number }) => {
	const out = new Array<ThreadRow | null>(msg.records.length);
	for (let i = 0; i < msg.records.length; i++) {
		const r = read(msg.records[i], msg.firstRow + i);
		// The raw cells stay in the main thread (it still has them): no need to send them back.
		out[i] = r && { ...r, raw: null };
	}
	parentPort?.postMessage({ id: msg.id, rows: out });
});
parentPort?.postMessage({ ready: true });
