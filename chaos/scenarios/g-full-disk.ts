/**
 * g. Full disk on the uploads folder: a 1 MB tmpfs is mounted on the web process's
 * uploads folder (a real ENOSPC from the kernel; needs root). Uploads that do not fit
 * must answer 507 with a clear message and leave no batch and no byte behind; those
 * that fit (several at once, racing for the space) must import completely; once the
 * disk is free again, uploads work as before.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defineScenario, invariants, round, waitFor } from '../lib/scenario';
import { startStack } from '../lib/stack';
import { batchRow, sql } from '../lib/db';
import { uploadCsv } from '../lib/api';

const csv = (rows: number, offset = 0) =>
	'phone,name\n' + Array.from({ length: rows }, (_, i) => `+1415${String(2000000 + offset + i)},Name ${offset + i}`).join('\n') + '\n';

export default defineScenario({
	name: 'full disk on the uploads folder',
	async run() {
		const inv = invariants();
		let uploads = '';
		let mounted = false;
		const stack = await startStack({
			workers: 1,
			beforeWeb(dataDir) {
				uploads = path.join(dataDir, 'uploads');
				fs.mkdirSync(uploads, { recursive: true });
				try {
					execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', uploads], { stdio: 'ignore' });
					mounted = true;
				} catch {
					/* reported below */
				}
			}
		});
		try {
			if (!mounted) return { pass: false, figures: {}, detail: 'could not mount a tmpfs on the uploads folder (needs root)' };
			const { url } = stack.web;
			const used = () => Number(execFileSync('df', ['--output=used', '-B1', uploads]).toString().split('\n')[1].trim());
			const files = () => fs.readdirSync(uploads);

			// 1. Far larger than the disk.
			const big = await uploadCsv(url, stack.token, csv(120_000)); // ~3 MB
			inv.check(big.status === 507, `a 3 MB upload onto a 1 MB disk answered ${big.status}`);
			inv.check(/full \(ENOSPC\)/.test(big.body.error?.message ?? ''), `message: ${big.body.error?.message}`);
			inv.check(files().length === 0 && used() === 0, `after the refusal: ${files().length} files, ${used()} bytes used`);

			// 2. Six uploads of ~350 KB at once: some fit, the others must be refused cleanly.
			const sizes = Array.from({ length: 6 }, (_, i) => ({ rows: 14_000, offset: 200_000 + i * 20_000 }));
			const answers = await Promise.all(sizes.map((s) => uploadCsv(url, stack.token, csv(s.rows, s.offset))));
			const statuses = answers.map((a) => a.status);
			const accepted = answers.filter((a) => a.status === 201);
			inv.check(statuses.every((s) => s === 201 || s === 507), `statuses ${statuses.join(',')}`);
			inv.check(accepted.length >= 1 && accepted.length < 6, `${accepted.length} of 6 fitted a 1 MB disk`);
			for (const a of accepted) {
				const done = await waitFor('an accepted import to end', async () => {
					const b = await batchRow(a.body.id!);
					return ['COMPLETED', 'FAILED'].includes(b.status) ? b : null;
				}, 120_000);
				inv.check(done.status === 'COMPLETED' && done.success_count === 14_000, `an accepted upload ended ${done.status} with ${done.success_count} of 14000 imported`);
			}
			const [{ n: importBatches }] = await sql()<{ n: number }[]>`select count(*)::int as n from batch_operations where type = 'IMPORT'`;
			inv.check(importBatches === accepted.length, `${importBatches} import batches for ${accepted.length} accepted uploads`);
			await waitFor('the finished imports to remove their files', () => files().length === 0, 30_000);
			const usedAfter = used();
			inv.check(usedAfter === 0, `${usedAfter} bytes left on the disk`);

			// 3. The disk is free again: an upload goes through and imports.
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
				disk: '1 MB tmpfs',
				oversizeStatus: big.status,
				oversizeAnsweredMs: round(big.ms),
				oversizeMessage: big.body.error?.message,
				concurrentStatuses: statuses.join(','),
				acceptedImportedCompletely: accepted.length,
				importBatches,
				bytesLeftOnDisk: usedAfter,
				afterwardsStatus: small.status
			});
		} finally {
			// Lazily: the web process may still hold the folder open; then its data folder can go.
			if (mounted) execFileSync('umount', ['-l', uploads]);
			await stack.stop().catch(() => {});
		}
	}
});
