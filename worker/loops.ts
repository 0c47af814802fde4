import { sendLoop } from './send-loop';
/**
 * Long-running loops a worker process runs beside graphile-worker (for timing finer
 * than its polling, e.g. exact scheduled starts). Each returns a stopper.
 * Feature code appends its starter here.
 */
export type Loop = { stop(): Promise<void> };
export const backgroundLoops: Array<() => Loop> = [sendLoop];
