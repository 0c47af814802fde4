import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
// Type-only: nothing of the server reaches the browser bundle.
import type { AppRouter } from '$lib/server/trpc/router';

/**
 * What the procedures take and return, inferred from the routers, so a page's rows
 * change with the server's DTOs instead of drifting from a hand-written copy.
 */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

type Out = RouterOutputs;

/** batch.status, and the data of every batch_update event. */
export type BatchStatusDto = Out['batch']['status'];
export type BatchListRow = Out['batch']['list']['items'][number];
export type BatchDetail = Out['batch']['get'];
export type BatchItemsPage = Out['batch']['items'];
export type SendRate = Out['batch']['rate'];
export type BatchStats = Out['batch']['stats'];
export type TableSizes = Out['batch']['tableSizes'];
export type ImportLedgerRow = Out['batch']['importRows']['rows'][number];

export type Contact = Out['contacts']['list']['items'][number];
export type TagCount = Out['contacts']['tags'][number];
export type Template = Out['templates']['list'][number];
export type TemplatePreview = Out['templates']['preview'];
export type ChannelDto = Out['channels']['list'][number];
export type ApiToken = Out['tokens']['list'][number];
export type UserDto = Out['users']['list'][number];
export type AuditEntryDto = Out['audit']['list']['items'][number];
export type OutboxRow = Out['outbox']['list']['rows'][number];
export type SendPrecheck = Out['batch']['precheck'];
