import { TRPCClientError } from '@trpc/client';
import { serverText } from '$lib/server-text';

/** A readable message for a failed call, with zod field errors spelled out. */
export function errorMessage(err: unknown): string {
	if (err instanceof TRPCClientError) {
		const data = err.data as { zodError?: { fieldErrors?: Record<string, string[]>; formErrors?: string[] } } | undefined;
		const fields = data?.zodError?.fieldErrors;
		if (fields && Object.keys(fields).length) {
			return Object.entries(fields)
				.map(([k, v]) => `${k}: ${(v ?? []).map(serverText).join(', ')}`)
				.join('; ');
		}
		return serverText(err.message);
	}
	return err instanceof Error ? err.message : String(err);
}
