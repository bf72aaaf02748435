export * from './storage-options.js';
export * from './size.js';
export * from './validate.js';
export * from './resolve-options.js';
export * from './load-yaml.js';
