/**
 * f. 1 000 hostile CSV files through the real upload route of a web process (and a
 * worker importing what is accepted): BOM, UTF-16, Windows-1252 and GBK text, NUL
 * bytes, mixed and old-Mac line ends, a 10 MB field, 100 000 columns, unbalanced quotes,
 * random byte damage, formula cells. Each must get a clear error (4xx with a message) or
 * a correct import (the rows of a well-formed file all in, names intact); nothing may
 * answer 5xx or drop the connection; the web process stays under 300 MB RSS. Also: an
 * over-limit upload is refused in under a second, and a failed-rows export imported
 * again fails the same rows for the same reasons.
 */
import http from 'node:http';
import Papa from 'papaparse';
import { defineScenario, invariants, percentile, round, waitFor } from '../lib/scenario';
import { startStack } from '../lib/stack';
import { sql } from '../lib/db';
import { failedCsv, uploadCsv, type UploadAnswer } from '../lib/api';

const FILES = 1000;

function prng(seed: number) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

type Case = {
	kind: string;
	body: Buffer;
	/** A well-formed file: must import all `rows` with these names. */
	exact?: { rows: number; phone: string; name: string };
	/** Must be refused (4xx). */
	refuse?: boolean;
};

const phoneOf = (c: number, i: number) => `+1415${2000000 + c * 1000 + i}`;
const nameOf = (c: number, i: number) => `Name ${c}-${i}`;

function rowsOf(c: number, n: number) {
	return Array.from({ length: n }, (_, i) => [phoneOf(c, i), nameOf(c, i)]);
}
const text = (rows: string[][], nl = '\n') => ['phone,name', ...rows.map((r) => r.join(','))].join(nl) + nl;

// GBK bytes of 张三 and 李四 (no GBK encoder in Node).
const GBK_NAMES = [Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]), Buffer.from([0xc0, 0xee, 0xcb, 0xc4])];

function makeCase(c: number, rnd: () => number): Case {
	const n = 1 + Math.floor(rnd() * 60);
	const rows = rowsOf(c, n);
	const exact = { rows: n, phone: phoneOf(c, 0), name: nameOf(c, 0) };
	const kinds = [
		'clean', 'bom', 'crlf', 'mixed-line-ends', 'cr-only', 'utf16le-bom', 'utf16be-bom', 'utf16-no-bom', 'windows-1252', 'gbk',
		'nul-bytes', 'unclosed-quote', 'stray-quotes', 'quoted-newlines', 'random-damage', 'formula-cells', 'blank-lines', 'no-phone-column',
		'header-only', 'empty', 'semicolons', 'tabs', 'bom-only', 'ragged-rows', 'huge-field', 'many-columns'
	];
	// The two expensive kinds (10 MB, 100 000 columns) 10 times each, the rest spread evenly.
	const kind = c % 100 === 7 ? 'huge-field' : c % 100 === 57 ? 'many-columns' : kinds[Math.floor(rnd() * (kinds.length - 2))];
	switch (kind) {
		case 'clean':
			return { kind, body: Buffer.from(text(rows)), exact };
		case 'bom':
			return { kind, body: Buffer.from('\uFEFF' + text(rows, '\r\n')), exact };
		case 'crlf':
			return { kind, body: Buffer.from(text(rows, '\r\n')), exact };
		case 'mixed-line-ends': {
			const lines = ['phone,name', ...rows.map((r) => r.join(','))];
			return { kind, body: Buffer.from(lines.map((l, i) => l + (i % 2 ? '\r\n' : '\n')).join('')), exact };
		}
		case 'cr-only':
			return { kind, body: Buffer.from(text(rows, '\r')), exact };
		case 'utf16le-bom':
			return { kind, body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text(rows), 'utf16le')]), refuse: true };
		case 'utf16be-bom': {
			const le = Buffer.from(text(rows), 'utf16le');
			return { kind, body: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(le).swap16()]), refuse: true };
		}
		case 'utf16-no-bom':
			return { kind, body: Buffer.from(text(rows), 'utf16le'), refuse: true };
		case 'windows-1252':
			return { kind, body: Buffer.from(text(rows.map((r, i) => [r[0], i === 0 ? 'Jos\xe9 M\xfcller' : r[1]])), 'latin1'), refuse: true };
		case 'gbk': {
			const parts = [Buffer.from('phone,name\n')];
			rows.forEach((r, i) => parts.push(Buffer.from(`${r[0]},`), GBK_NAMES[i % 2], Buffer.from('\n')));
			return { kind, body: Buffer.concat(parts), refuse: true };
		}
		case 'nul-bytes': {
			const b = Buffer.from(text(rows));
			b[Math.floor(rnd() * b.length)] = 0;
			return { kind, body: b, refuse: true };
		}
		case 'unclosed-quote':
			return { kind, body: Buffer.from(text(rows).replace(nameOf(c, Math.floor(n / 2)), `"${nameOf(c, Math.floor(n / 2))}`)), refuse: true };
		case 'stray-quotes':
			return { kind, body: Buffer.from(text(rows.map((r, i) => [r[0], i % 3 ? r[1] : `Ann "the" ${r[1]}`]))) };
		case 'quoted-newlines':
			return { kind, body: Buffer.from(text(rows.map((r) => [r[0], `"${r[1]}"`]).concat([[phoneOf(c, 999), '"two\nlines, ""quoted"""']]))) };
		case 'random-damage': {
			const b = Buffer.from(text(rows));
			for (let k = 0; k < 1 + Math.floor(rnd() * 5); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
			return { kind, body: b };
		}
		case 'formula-cells':
			return { kind, body: Buffer.from(text(rows.map((r, i) => [r[0], i % 2 ? '=HYPERLINK("http://x")' : '@SUM(A1)']))) };
		case 'blank-lines':
			return { kind, body: Buffer.from(text(rows).replace(/\n/g, '\n\n') + '\n\n\n'), exact };
		case 'no-phone-column':
			return { kind, body: Buffer.from(text(rows).replace('phone,name', 'foo,bar')), refuse: true };
		case 'header-only':
			return { kind, body: Buffer.from('phone,name\n'), refuse: true };
		case 'empty':
			return { kind, body: Buffer.alloc(0), refuse: true };
		case 'bom-only':
			return { kind, body: Buffer.from('\uFEFF'), refuse: true };
		case 'semicolons':
			return { kind, body: Buffer.from(text(rows).replace(/,/g, ';')), exact };
		case 'tabs':
			return { kind, body: Buffer.from(text(rows).replace(/,/g, '\t')), exact };
		case 'ragged-rows':
			return { kind, body: Buffer.from(text(rows.map((r, i) => (i % 2 ? [...r, 'extra', 'cells'] : [r[0]])))) };
		case 'huge-field':
			return { kind, body: Buffer.from(`phone,name\n${phoneOf(c, 0)},${'x'.repeat(10 * 1024 * 1024)}\n`), refuse: true };
		case 'many-columns': {
			const header = ['phone', ...Array.from({ length: 99_999 }, (_, i) => `c${i}`)].join(',');
			return { kind, body: Buffer.from(`${header}\n${phoneOf(c, 0)}${',x'.repeat(99_999)}\n`), refuse: true };
		}
	}
	throw new Error(kind);
}

/** POST with a Content-Length over the limit and only the first line sent: ms until the answer. */
function overLimit(url: string, token: string, bytes: number): Promise<{ status: number; ms: number }> {
	const t0 = performance.now();
	return new Promise((resolve, reject) => {
		const u = new URL(`${url}/api/imports`);
		const req = http.request(
			{ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': String(bytes) } },
			(res) => {
				res.resume();
				resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 });
				req.destroy();
			}
		);
		req.on('error', reject);
		req.write('phone,name\n');
	});
}

export default defineScenario({
	name: '1 000 hostile CSV files through the upload route',
	async run() {
		const inv = invariants();
		const stack = await startStack({ workers: 1 });
		try {
			const { url } = stack.web;
			const token = stack.token;
			let maxRss = stack.web.rssMb() ?? 0;
			const sampler = setInterval(() => (maxRss = Math.max(maxRss, stack.web.rssMb() ?? 0)), 100);

			const rnd = prng(11);
			const outcomes: Record<string, Record<string, number>> = {};
			const problems: string[] = [];
			const accepted: Array<{ c: number; kase: Case; id: string }> = [];
			const ms: number[] = [];
			let next = 0;
			const worker = async () => {
				for (;;) {
					const c = next++;
					if (c >= FILES) return;
					const kase = makeCase(c, rnd);
					const a: UploadAnswer = await uploadCsv(url, token, kase.body, { filename: `${kase.kind}.csv` });
					ms.push(a.ms);
					const key = a.networkError ? `network:${a.networkError}` : String(a.status);
					(outcomes[kase.kind] ??= {})[key] = (outcomes[kase.kind][key] ?? 0) + 1;
					if (a.status === 201 && a.body.id) {
						if (kase.refuse) problems.push(`#${c} ${kase.kind} was accepted`);
						accepted.push({ c, kase, id: a.body.id });
					} else if (a.status >= 400 && a.status < 500) {
						if (kase.exact) problems.push(`#${c} ${kase.kind} (well-formed) refused: ${a.body.error?.message}`);
						if (!a.body.error?.message || a.body.error.message.length < 15) problems.push(`#${c} ${kase.kind}: ${a.status} without a clear message`);
					} else {
						problems.push(`#${c} ${kase.kind}: ${key} ${JSON.stringify(a.body).slice(0, 200)}`);
					}
				}
			};
			const t0 = performance.now();
			await Promise.all(Array.from({ length: 4 }, worker));
			const uploadSeconds = (performance.now() - t0) / 1000;

			// Every accepted file ends; the well-formed ones with every row in and names intact.
			await waitFor('every accepted import to end', async () => {
				const [{ open }] = await sql()<{ open: number }[]>`
					select count(*)::int as open from batch_operations where type = 'IMPORT' and status not in ('COMPLETED', 'FAILED', 'CANCELLED')`;
				return open === 0;
			}, 600_000, 500);
			const rows = await sql()<{ id: string; status: string; success_count: number; failed_count: number; error: string | null }[]>`
				select id, status, success_count, failed_count, error from batch_operations where id = any(${accepted.map((a) => a.id)}::uuid[])`;
			const byId = new Map(rows.map((r) => [r.id, r]));
			let exactOk = 0;
			for (const a of accepted) {
				const b = byId.get(a.id)!;
				if (b.status === 'FAILED' && !(b.error && b.error.length > 10)) problems.push(`#${a.c} ${a.kase.kind}: FAILED without a reason`);
				if (b.status === 'FAILED' && !a.kase.exact) continue;
				if (!a.kase.exact) continue;
				const [contact] = await sql()<{ name: string | null }[]>`select name from contacts where phone_e164 = ${a.kase.exact.phone}`;
				if (b.status !== 'COMPLETED' || b.success_count !== a.kase.exact.rows || contact?.name !== a.kase.exact.name) {
					problems.push(`#${a.c} ${a.kase.kind}: ${b.status}, ${b.success_count}/${a.kase.exact.rows} in, first name ${JSON.stringify(contact?.name)} (error ${b.error})`);
				} else exactOk++;
			}

			// Over the limit (Content-Length 300 MB against 200 MB): refused before the body.
			const over = await overLimit(url, token, 300 * 1024 * 1024);
			inv.check(over.status === 413 && over.ms < 1000, `over-limit upload: ${over.status} after ${round(over.ms)} ms`);

			// A failed-rows export imported again: the same rows fail for the same reasons.
			const mixed = ['phone,name,city', ...Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? `${['12345', 'abc', '', '+1'][i % 4]},=Bad ${i},"Town, ${i}"` : `${phoneOf(5000, i)},Good ${i},Town ${i}`))].join('\n') + '\n';
			const first = await uploadCsv(url, token, mixed);
			const endOf = async (id: string) =>
				waitFor('an import to end', async () => {
					const [b] = await sql()<{ status: string; failed_count: number; success_count: number }[]>`select status, failed_count, success_count from batch_operations where id = ${id}`;
					return ['COMPLETED', 'FAILED'].includes(b.status) ? b : null;
				}, 60_000);
			const firstEnd = await endOf(first.body.id!);
			const export1 = await failedCsv(url, token, first.body.id!);
			const second = await uploadCsv(url, token, export1);
			const secondEnd = second.body.id ? await endOf(second.body.id) : null;
			const export2 = second.body.id ? await failedCsv(url, token, second.body.id) : Buffer.alloc(0);
			const withoutRowNumbers = (b: Buffer) =>
				Papa.parse<string[]>(b.toString('utf8').replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data.map((r) => r.slice(1));
			const same = JSON.stringify(withoutRowNumbers(export1)) === JSON.stringify(withoutRowNumbers(export2));
			inv.check(second.status === 201 && same && secondEnd?.failed_count === firstEnd.failed_count && secondEnd?.success_count === 0,
				`failed-rows re-import: status ${second.status}, ${secondEnd?.failed_count}/${firstEnd.failed_count} failed, identical export ${same}`);

			clearInterval(sampler);
			maxRss = Math.max(maxRss, stack.web.rssMb() ?? 0);
			inv.check(problems.length === 0, `${problems.length} wrong answers: ${problems.slice(0, 8).join(' | ')}`);
			inv.check(stack.web.alive() && stack.workers.every((w) => w.alive()), 'a process died');
			inv.check(maxRss < 300, `web RSS reached ${round(maxRss)} MB`);
			const totals = Object.values(outcomes).reduce<Record<string, number>>((t, o) => {
				for (const [k, v] of Object.entries(o)) t[k] = (t[k] ?? 0) + v;
				return t;
			}, {});
			return inv.result({
				files: FILES,
				answers: totals,
				wellFormedImportedExactly: exactOk,
				acceptedImportsFailedWithReason: rows.filter((r) => r.status === 'FAILED').length,
				wrongAnswers: problems.length,
				uploadP95Ms: round(percentile(ms, 95)),
				uploadSeconds: round(uploadSeconds),
				webMaxRssMb: round(maxRss),
				overLimitStatus: over.status,
				overLimitAnsweredMs: round(over.ms),
				failedRowsReimport: { failed: firstEnd.failed_count, failedAgain: secondEnd?.failed_count ?? null, identicalExport: same },
				byKind: outcomes
			});
		} finally {
			await stack.stop();
		}
	}
});
