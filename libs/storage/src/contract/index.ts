export * from './storage-provider.js';
export * from './provider-type.js';
