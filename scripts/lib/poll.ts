/**
 * Polls `fn` every `everyMs` until it returns a truthy value (returned) or `timeoutMs`
 * passes (then `fail` gets the last falsy value or error thrown, and its Error is thrown).
 * A throw from fn counts as "not yet". The one wait loop of the tests, the browser flows
 * and the chaos scenarios; each keeps its own defaults and wording.
 */
export async function pollUntil<T>(
	fn: () => Promise<T> | T,
	opts: { timeoutMs: number; everyMs: number; fail: (last: unknown) => Error }
): Promise<NonNullable<T>> {
	const end = Date.now() + opts.timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const v = await fn();
			if (v) return v as NonNullable<T>;
			last = v;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end) throw opts.fail(last);
		await new Promise((r) => setTimeout(r, opts.everyMs));
	}
}
