export * from './artifact-authorizer.js';
export * from './artifact-access.decorator.js';
export * from './artifact-access.guard.js';
