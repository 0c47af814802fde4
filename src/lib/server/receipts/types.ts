/** A delivery state an item can reach; the column batch_items.delivery. */
export type Delivery = 'delivered' | 'read' | 'undelivered' | 'failed';

/** One provider receipt: the message it is about (the provider's id), its state, the provider's error code. */
export type Receipt = { messageId: string; delivery: Delivery; code: string | null };

/** What the route answers. */
export type Reply = { status: number; body: string; contentType: string };

export const reply = (status: number, body = '', contentType = 'text/plain; charset=utf-8'): Reply => ({ status, body, contentType });
