export * from './body.js';
export * from './metered-stream.js';
export * from './range.js';
export * from './verifying-stream.js';
