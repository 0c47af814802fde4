/**
 * What bench:import and bench:scale share: the web child serving the real upload route,
 * the upload of a CSV file to it, the raw baseline (COPY of the normalised rows into a
 * staging table + INSERT … ON CONFLICT DO NOTHING) and the CSV/TSV pair it reads, a COPY
 * cell, a process's peak RSS.
 */
import fs from 'node:fs';
import http from 'node:http';
import type postgres from 'postgres';

/** The web child: the real POST /api/imports handler behind a plain Node server, as adapter-node runs it.
 * A bench runs this in a child process of its own (`--web`), listening on BENCH_WEB_PORT. */
export async function webRole() {
	const { POST } = await import('../src/routes/api/imports/+server');
	const { bearerFrom, resolveAuth } = await import('../src/lib/server/auth/resolve');
	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const auth = await resolveAuth({ bearer: bearerFrom(req.headers.authorization) });
		const headers = new Headers();
		for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
		const body = new ReadableStream<Uint8Array>({
			start(c) {
				req.on('data', (d: Buffer) => {
					c.enqueue(new Uint8Array(d));
					if ((c.desiredSize ?? 0) <= 0) req.pause();
				});
				req.on('end', () => c.close());
				req.on('error', (e) => c.error(e));
			},
			pull: () => void req.resume(),
			cancel: () => void req.destroy()
		});
		// @ts-expect-error duplex is needed for streamed bodies in Node's fetch types
		const request = new Request(url, { method: 'POST', headers, body, duplex: 'half' });
		// eslint-disable-next-line @typescript-eslint/no-explicit-any
		const response = await POST({ request, url, locals: { user: auth.user, sessionToken: null }, params: {} } as any);
		res.writeHead(response.status, Object.fromEntries(response.headers));
		res.end(Buffer.from(await response.arrayBuffer()));
	});
	server.listen(Number(process.env.BENCH_WEB_PORT), '127.0.0.1', () => process.send?.('ready'));
}

/** Streams `file` to the upload route as text/csv (US numbers without a country code), tagged and sourced "bench". */
export function uploadFile(url: string, token: string, file: string, filename: string): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			`${url}/api/imports?defaultCountry=US&tags=bench&source=bench&filename=${encodeURIComponent(filename)}`,
			{
				method: 'POST',
				headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': fs.statSync(file).size }
			},
			(res) => {
				let body = '';
				res.on('data', (d) => (body += d));
				res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
			}
		);
		req.on('error', reject);
		fs.createReadStream(file).pipe(req);
	});
}

/** The raw baseline of an import: the TSV of normalised rows COPYed to staging, then inserted into `table`, skipping phones it holds. */
export async function copyBaseline(sql: postgres.Sql, tsvPath: string, table: string) {
	await sql.begin(async (tx) => {
		await tx.unsafe(`create temp table stage (phone text, name text, tags text[], attributes jsonb) on commit drop`);
		const copy = await tx.unsafe('copy stage from stdin').writable();
		await new Promise<void>((resolve, reject) => {
			const src = fs.createReadStream(tsvPath);
			src.on('error', reject);
			copy.on('error', reject);
			copy.on('finish', resolve);
			src.pipe(copy);
		});
		await tx.unsafe(`insert into ${table} (phone_e164, name, tags, attributes, source)
			select phone, name, tags, attributes, 'bench' from stage on conflict (phone_e164) do nothing`);
	});
}

/** A value as a COPY text cell. */
export function copyCell(v: string): string {
	return v.replace(/[\\\t\n\r]/g, (m) => (m === '\\' ? '\\\\' : m === '\t' ? '\\t' : m === '\n' ? '\\n' : '\\r'));
}

/** Peak resident set of a process (VmHWM), in MB. */
export function peakRssMb(pid: number | undefined): number {
	if (!pid) return 0;
	try {
		const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Math.round(Number(m[1]) / 1024) : 0;
	} catch {
		return 0;
	}
}

/**
 * The bench's CSV and the baseline's normalised TSV, written side by side: rows are
 * buffered (about 1 MB) and written with backpressure, never all in memory. The CSV
 * starts with `header`.
 */
export function csvAndTsv(csvPath: string, tsvPath: string, header: string) {
	const csv = fs.createWriteStream(csvPath);
	const tsv = fs.createWriteStream(tsvPath);
	const write = async (s: fs.WriteStream, text: string) => {
		if (!s.write(text)) await new Promise<void>((r) => s.once('drain', () => r()));
	};
	let c = header;
	let t = '';
	return {
		/** A CSV line and its TSV line ('' for a row the baseline leaves out). */
		async add(csvLine: string, tsvLine: string) {
			c += csvLine;
			t += tsvLine;
			if (c.length > 1 << 20) {
				await write(csv, c);
				await write(tsv, t);
				c = t = '';
			}
		},
		async end() {
			await write(csv, c);
			await write(tsv, t);
			await Promise.all([new Promise((r) => csv.end(r)), new Promise((r) => tsv.end(r))]);
		}
	};
}
