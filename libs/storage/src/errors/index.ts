export * from './storage.errors.js';
export * from './network-codes.js';
