/**
 * g. Full disk under the uploads: uploads are stored in PostgreSQL (upload_chunks), so a
 * full disk now means PostgreSQL refusing writes. A 2 MB tmpfs is mounted as a
 * tablespace and upload_chunks moved onto it: inserting chunks past it fails with
 * PostgreSQL's own 53100 (could not extend file: No space left on device; a real ENOSPC
 * from the kernel, needs root). Uploads that do not fit must answer 507 with a clear
 * message and leave no batch and no stored chunk; those that fit (several at once,
 * racing for the space) must import completely, their chunks removed when they end;
 * once space is freed again (the tmpfs grown), uploads work as before.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineScenario, invariants, round, waitFor } from '../lib/scenario';
import { startStack } from '../lib/stack';
import { batchRow, sql } from '../lib/db';
import { uploadCsv } from '../lib/api';

/** Names of random hex: compresses about 2:1 (upload_chunks keeps pglz), so sizes on the tiny disk stay predictable. */
const csv = (rows: number, offset = 0) =>
	'phone,name\n' + Array.from({ length: rows }, (_, i) => `+1415${String(2000000 + offset + i)},${randomBytes(12).toString('hex')}`).join('\n') + '\n';

const storedChunks = async () => (await sql()<{ n: number }[]>`select count(*)::int as n from upload_chunks`)[0].n;

export default defineScenario({
	name: 'full disk under the stored uploads (PostgreSQL refusing writes)',
	async run() {
		const inv = invariants();
		const disk = path.join(os.tmpdir(), `batchdesk-chaos-tiny-${process.pid}`);
		let mounted = false;
		let setupError = '';
		const stack = await startStack({
			workers: 1,
			async beforeWeb() {
				try {
					// The server runs as the `postgres` OS user: the tablespace folder must be its own.
					const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
					fs.mkdirSync(disk, { recursive: true });
					execFileSync('mount', ['-t', 'tmpfs', '-o', `size=2m,uid=${uid},mode=0700`, 'tmpfs', disk], { stdio: 'ignore' });
					mounted = true;
					await sql().unsafe(`create tablespace chaos_tiny location '${disk}'`);
					await sql().unsafe(`alter table upload_chunks set tablespace chaos_tiny`);
				} catch (e) {
					setupError = String(e);
				}
			}
		});
		try {
			if (!mounted || setupError) return { pass: false, figures: {}, detail: `could not put upload_chunks on a 2 MB tmpfs tablespace (needs root and the server on this machine): ${setupError}` };
			const { url } = stack.web;

			// 1. Eight uploads of ~0.9 MB at once onto the empty 2 MB disk: some fit, the others must be refused cleanly.
			const sizes = Array.from({ length: 8 }, (_, i) => ({ rows: 20_000, offset: 200_000 + i * 20_000 }));
			const answers = await Promise.all(sizes.map((s) => uploadCsv(url, stack.token, csv(s.rows, s.offset))));
			const statuses = answers.map((a) => a.status);
			const accepted = answers.filter((a) => a.status === 201);
			inv.check(statuses.every((s) => s === 201 || s === 507), `statuses ${statuses.join(',')}${answers.some((a) => a.networkError) ? ` (network errors: ${answers.map((a) => a.networkError).filter(Boolean).join(', ')})` : ''}`);
			inv.check(accepted.length >= 1 && accepted.length < 8, `${accepted.length} of 8 fitted a 2 MB disk`);
			for (const a of accepted) {
				const done = await waitFor('an accepted import to end', async () => {
					const b = await batchRow(a.body.id!);
					return ['COMPLETED', 'FAILED'].includes(b.status) ? b : null;
				}, 120_000);
				inv.check(done.status === 'COMPLETED' && done.success_count === 20_000, `an accepted upload ended ${done.status} with ${done.success_count} of 20000 imported`);
			}
			const [{ n: importBatches }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = 'IMPORT'`;
			inv.check(importBatches === accepted.length, `${importBatches} import batches for ${accepted.length} accepted uploads`);
			// 2. Far larger than the disk (now holding the accepted uploads' dead rows: PostgreSQL reuses their space only after VACUUM).
			const big = await uploadCsv(url, stack.token, csv(150_000)); // ~6.5 MB, ~3.5 MB stored
			inv.check(big.status === 507, `a 6.5 MB upload onto a 2 MB disk answered ${big.status}`);
			inv.check(/database is full \(53100 disk_full\)/.test(big.body.error?.message ?? ''), `message: ${big.body.error?.message}`);
			const leftAfterRefusal = await storedChunks();
			inv.check(leftAfterRefusal === 0, `after the refusal: ${leftAfterRefusal} chunks stored`);

			// Ended imports take their chunks with them. Their space is not the disk's again
			// until VACUUM, which itself needs a page or two (its visibility map) on a disk
			// that has none: as the 507 says, an administrator frees space (the tmpfs grows to
			// 8 MB), then the table is vacuumed.
			const chunksLeft = await storedChunks();
			inv.check(chunksLeft === 0, `${chunksLeft} chunks left after the imports ended`);
			execFileSync('mount', ['-o', 'remount,size=8m', disk]);
			await sql().unsafe('vacuum upload_chunks');

			// 3. Space is freed: an upload goes through and imports.
			const small = await uploadCsv(url, stack.token, csv(100, 900_000));
			inv.check(small.status === 201, `a small upload afterwards answered ${small.status}`);
			if (small.body.id) {
				const b = await waitFor('the small import', async () => {
					const r = await batchRow(small.body.id!);
					return r.status === 'COMPLETED' ? r : null;
				}, 60_000);
				inv.check(b.success_count === 100, `the small import took ${b.success_count} of 100`);
			}
			inv.check(stack.web.alive(), 'the web process died');
			return inv.result({
				disk: '2 MB tmpfs tablespace under upload_chunks',
				oversizeStatus: big.status,
				oversizeAnsweredMs: round(big.ms),
				oversizeMessage: big.body.error?.message,
				concurrentStatuses: statuses.join(','),
				acceptedImportedCompletely: accepted.length,
				importBatches,
				chunksLeft,
				afterwardsStatus: small.status
			});
		} finally {
			await stack.stop().catch(() => {});
			// After the server stopped: nothing holds the tablespace any more.
			if (mounted) execFileSync('umount', ['-l', disk]);
		}
	}
});
