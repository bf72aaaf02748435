export * from './audit-event.entity.js';
export * from './audit-log.js';
export * from './audit.decorator.js';
export { failureFacts, outcomeOf, requestFacts } from './audit-request.js';
export * from './audit.interceptor.js';
export * from './audit.module.js';
export { CreateStorageAuditEvents1764480001000 } from './migrations/1764480001000-create-storage-audit-events.js';
