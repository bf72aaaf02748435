export * from './storage-key.js';
