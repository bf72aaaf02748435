export { fallbackChain, writeWithFallback, type FallbackOutcome, type FallbackWrite } from './fallback-writer.js';
export { isProviderFault, isTransientFault } from './provider-faults.js';
export { CircuitOpenError } from './resilience.errors.js';
export * from './resilience.options.js';
export {
  StorageResilience,
  type AttemptContext,
  type BreakerStateChange,
  type CallOptions,
  type ResilientOperation,
} from './storage-resilience.js';
