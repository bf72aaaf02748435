export * from './content-hooks.js';
