/** Helpers for chaos scenarios (chaos/scenarios/<letter>-<slug>.ts); see chaos/run.ts for the contract. */
export * from './scenario';
export * from './postgres';
export * from './db';
export * from './processes';
export * from './app';
export * from './api';
export * from './provider';
export * from './stack';
