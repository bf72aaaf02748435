// A separate entry (`@boards/storage/health`): importing it loads @nestjs/terminus, the main entry never does.
export { redactMessage } from './redact-message.js';
export { DATABASE_HEALTH_KEY, StorageHealthIndicator, providerHealthKey } from './storage-health.indicator.js';
export { StorageHealthModule } from './storage-health.module.js';
export { DEFAULT_HEALTH_TIMEOUT_MS, type StorageHealthModuleExtras, type StorageHealthOptions } from './storage-health.options.js';
