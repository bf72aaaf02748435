// A separate entry (`@boards/storage/metrics`): importing it loads prom-client, the main entry never does.
export { MetricsStorageInstrumentation } from './metrics.instrumentation.js';
export { StorageMetrics } from './storage-metrics.js';
export { StorageMetricsModule } from './storage-metrics.module.js';
export { DEFAULT_DURATION_BUCKETS, DEFAULT_METRICS_PREFIX, type StorageMetricsOptions } from './storage-metrics.options.js';
export { storedBytesFromRegistry, type StoredBytesRow, type StoredBytesSource } from './stored-bytes.source.js';
