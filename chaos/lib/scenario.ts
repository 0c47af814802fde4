/**
 * The contract between chaos/run.ts and each chaos/scenarios/<letter>-<slug>.ts file:
 * the file's default export is a Scenario. `figures` are what the README quotes
 * (numbers measured by the run), `pass` whether every invariant of the scenario held,
 * `detail` a line saying which one broke when it did not.
 */
import { pollUntil } from '../../scripts/lib/poll';

export type ScenarioResult = { pass: boolean; figures: Record<string, unknown>; detail?: string };
export type Scenario = { name: string; run(): Promise<ScenarioResult> };

export function defineScenario(s: Scenario): Scenario {
	return s;
}

/** Collects failed invariants: `check(cond, what)` keeps going so one run reports them all. */
export function invariants() {
	const broken: string[] = [];
	return {
		check(ok: boolean, what: string) {
			if (!ok) broken.push(what);
			return ok;
		},
		result(figures: Record<string, unknown>): ScenarioResult {
			return { pass: broken.length === 0, figures, ...(broken.length ? { detail: broken.join('; ') } : {}) };
		}
	};
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value; throws after timeoutMs naming `what`. */
export function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
	return pollUntil(fn, {
		timeoutMs,
		everyMs,
		fail: (last) => new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${String(last)})` : ''}`)
	});
}

/** The p-th percentile (0–100) of a list of numbers, nearest rank. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
