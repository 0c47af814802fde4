import type { Executor } from '../db/client';
import { insertOutboxMessage } from './outbox';
import { ChannelError, messageKeySql, type Channel, type ChannelCapabilities, type ChannelRow, type OutgoingMessage } from './types';

export type SandboxConfig = { latencyMs: number; failureRate: number };

/**
 * Delivery is an outbox row: the engine sends whole slices in one transaction, and the
 * outbox's unique idempotency key makes a re-send a no-op.
 */
export const SANDBOX_CAPABILITIES: ChannelCapabilities = { batchSend: true, idempotentResend: true };

export function sandboxConfig(row: ChannelRow): SandboxConfig {
	const latencyMs = Math.max(0, Number(row.config.latencyMs ?? 0)) || 0;
	const failureRate = Math.min(1, Math.max(0, Number(row.config.failureRate ?? 0))) || 0;
	return { latencyMs, failureRate };
}

/** The simulated failure of one sandbox message, or null. */
export function simulatedFailure(cfg: SandboxConfig, rand = Math.random): ChannelError | null {
	return cfg.failureRate > 0 && rand() < cfg.failureRate
		? new ChannelError('transient', 'sandbox_simulated', 'Simulated failure (sandbox failureRate)')
		: null;
}

/**
 * The sandbox's provider message id: the message's idempotency key (the key of its
 * outbox row) behind 'sbx:', so the id names the outbox row it was delivered as.
 */
export function sandboxMessageId(idempotencyKey: string): string {
	return `sbx:${idempotencyKey}`;
}

/**
 * sandboxMessageId of the message to a batch_items row, in SQL, for statements that
 * record sandbox sends (its columns batch_id and id reachable unqualified).
 */
export function sandboxMessageIdSql(ex: Executor) {
	return ex`('sbx:' || ${messageKeySql(ex, ex`batch_id`, ex`id`)})`;
}

/**
 * The single-message form of the sandbox (the engine uses the batch form in
 * send/sandbox.ts and send/paced.ts). A unique idempotency key makes a re-send a no-op.
 */
export function sandboxChannel(row: ChannelRow): Channel {
	const cfg = sandboxConfig(row);
	return {
		id: row.id,
		kind: 'sandbox',
		capabilities: SANDBOX_CAPABILITIES,
		async send(msg: OutgoingMessage) {
			if (cfg.latencyMs) await new Promise((r) => setTimeout(r, cfg.latencyMs));
			const fail = simulatedFailure(cfg);
			if (fail) throw fail;
			await insertOutboxMessage(row.id, msg);
			return sandboxMessageId(msg.idempotencyKey);
		}
	};
}
