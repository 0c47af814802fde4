/**
 * The usual scenario setting: a throwaway PostgreSQL with a migrated database, web
 * process(es) and worker process(es) on it, a data folder of its own, this process's
 * pool pointed at the database, and an operator's API token.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import superjson from 'superjson';
import { startPostgres, migratedDatabase, type ChaosPostgres } from './postgres';
import { startWeb, startWorkerProcess, type Child, type Web } from './processes';
import { useDatabase, userWithToken } from './db';

export type Stack = {
	pg: ChaosPostgres;
	databaseUrl: string;
	dataDir: string;
	web: Web;
	workers: Child[];
	token: string;
	userId: number;
	/** Another worker process on the same database (e.g. after a kill). */
	addWorker(): Child;
	stop(): Promise<void>;
};

export async function startStack(
	opts: { workers?: number; env?: Record<string, string>; webEnv?: Record<string, string>; workerEnv?: Record<string, string>; dataDir?: string; beforeWeb?: (dataDir: string) => Promise<void> | void } = {}
): Promise<Stack> {
	const pg = await startPostgres();
	const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'batchdesk-chaos-data-'));
	try {
		const databaseUrl = await migratedDatabase(pg, 'batchdesk_chaos');
		await useDatabase(databaseUrl);
		const { token, userId } = await userWithToken('operator');
		await opts.beforeWeb?.(dataDir);
		const web = await startWeb({ databaseUrl, dataDir, env: { ...opts.env, ...opts.webEnv } });
		const addWorker = () => {
			const w = startWorkerProcess({ databaseUrl, dataDir, env: { ...opts.env, ...opts.workerEnv } });
			workers.push(w);
			return w;
		};
		const workers: Child[] = [];
		for (let i = 0; i < (opts.workers ?? 1); i++) addWorker();
		return {
			pg,
			databaseUrl,
			dataDir,
			web,
			workers,
			token,
			userId,
			addWorker,
			async stop() {
				await Promise.all(workers.map((w) => w.stop()));
				await web.stop();
				await useDatabase('postgres://unused@127.0.0.1:1/unused');
				await pg.stop();
				if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
			}
		};
	} catch (e) {
		await pg.stop();
		throw e;
	}
}

/**
 * One tRPC mutation as its own HTTP request (no batching link: 50 calls are 50
 * requests, as 50 double clicks or proxy retries would be). Never throws.
 */
export async function trpcMutation(url: string, token: string, procedure: string, input: unknown) {
	const t0 = performance.now();
	try {
		const res = await fetch(`${url}/api/trpc/${procedure}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify(superjson.serialize(input))
		});
		const body = (await res.json()) as { result?: { data: unknown }; error?: { json?: { message: string; data?: { code: string } } } };
		const data = body.result ? (superjson.deserialize(body.result.data as never) as Record<string, unknown>) : null;
		return { status: res.status, ms: performance.now() - t0, data, code: body.error?.json?.data?.code ?? null, message: body.error?.json?.message ?? null };
	} catch (e) {
		return { status: 0, ms: performance.now() - t0, data: null, code: 'NETWORK', message: String(e) };
	}
}

/** One tRPC query as its own HTTP GET. Never throws. */
export async function trpcQuery(url: string, token: string, procedure: string, input: unknown) {
	const t0 = performance.now();
	try {
		const res = await fetch(`${url}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`, {
			headers: { authorization: `Bearer ${token}` }
		});
		await res.arrayBuffer();
		return { status: res.status, ms: performance.now() - t0 };
	} catch {
		return { status: 0, ms: performance.now() - t0 };
	}
}
