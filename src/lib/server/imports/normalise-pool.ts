import { Worker } from 'node:worker_threads';
import type { ColumnTarget } from '../../schemas/import';
import type { RowOptions, StagedRow } from './records';
import { env } from '../env';

/** A staged row as a thread sends it back: without the raw cells, which the main thread still has. */
export type ThreadRow = Omit<StagedRow, 'raw'> & { raw: null };

type Pending = { resolve: (rows: (StagedRow | null)[]) => void; reject: (e: unknown) => void; records: string[][] };

/**
 * Normalises CSV records on worker threads (IMPORT_THREADS, default 0 = off),
 * answering in submission order. Off by default: on the 2-core machines measured
 * here, with Postgres on the other core, threads cost more in message copies and
 * memory (+~90 MB each) than they gained; a machine with spare cores may differ. Where threads cannot start, `start` returns null and
 * the caller normalises in its own thread — same code, same results.
 */
export class NormalisePool {
	private next = 0;
	private seq = 0;
	private readonly pending = new Map<number, Pending>();

	private constructor(private readonly workers: Worker[]) {
		for (const w of workers) {
			w.on('message', (msg: { id: number; rows: (ThreadRow | null)[] }) => {
				const p = this.pending.get(msg.id);
				if (!p) return;
				this.pending.delete(msg.id);
				// Re-attach the raw cells the thread did not send back.
				p.resolve(msg.rows.map((r, i) => r && { ...r, raw: p.records[i] }));
			});
			w.on('error', (e) => {
				for (const p of this.pending.values()) p.reject(e);
				this.pending.clear();
			});
		}
	}

	static async start(mapping: ColumnTarget[], opts: RowOptions): Promise<NormalisePool | null> {
		const size = env().imports.threads;
		if (!(size > 0)) return null;
		const url = new URL('./normalise-thread.ts', import.meta.url).href;
		// The thread registers tsx itself: loader hooks given with --import do not reach worker threads on Node 20.
		const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`;
		const workers: Worker[] = [];
		try {
			for (let i = 0; i < size; i++) {
				const w = new Worker(bootstrap, { eval: true, workerData: { mapping, opts } });
				workers.push(w);
				await new Promise<void>((resolve, reject) => {
					const timer = setTimeout(() => reject(new Error('normalise thread did not start')), 5_000);
					w.once('message', () => (clearTimeout(timer), resolve()));
					w.once('error', (e) => (clearTimeout(timer), reject(e)));
					w.once('exit', () => (clearTimeout(timer), reject(new Error('normalise thread exited'))));
				});
			}
			return new NormalisePool(workers);
		} catch {
			await Promise.all(workers.map((w) => w.terminate()));
			return null;
		}
	}

	/** Staged rows for `records`, numbered from firstRow; null for blank rows. */
	normalise(records: string[][], firstRow: number): Promise<(StagedRow | null)[]> {
		const id = this.seq++;
		const w = this.workers[this.next++ % this.workers.length];
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject, records });
			w.postMessage({ id, records, firstRow });
		});
	}

	async stop() {
		await Promise.all(this.workers.map((w) => w.terminate()));
	}
}
