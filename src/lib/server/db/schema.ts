/**
 * The database's tables as drizzle declares them (drizzle-kit generates the migrations in
 * drizzle/ from these), one file per domain under tables/. Server code imports them
 * from here.
 */
export * from './tables/auth';
export * from './tables/workers';
export * from './tables/contacts';
export * from './tables/batches';
export * from './tables/imports';
export * from './tables/channels';
export * from './tables/messages';
export * from './tables/audit';

// The batch lists and the roles live in browser-safe modules the pages share; server
// code keeps importing them from here.
export { BATCH_STATUSES, BATCH_TYPES, ITEM_STATUSES, type BatchStatus, type BatchType, type ItemStatus } from '../../batch-kinds';
export { ROLES, type Role } from '../../roles';
