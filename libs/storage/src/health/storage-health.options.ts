import type { TerminusModuleOptions } from '@nestjs/terminus';

export interface StorageHealthOptions {
  /** Longest a provider ping or the database query may take before it counts as down. Default 3000 ms. */
  timeoutMs?: number;
  /**
   * Reuse a check's result across probes for this long (concurrent probes share one run).
   * Bounds the backend calls an often-probed endpoint makes. Default 0: every probe checks.
   */
  cacheMs?: number;
}

export interface ResolvedStorageHealthOptions {
  timeoutMs: number;
  cacheMs: number;
}

/** Options that shape the module itself (outside an async factory). */
export interface StorageHealthModuleExtras {
  /** Options of the TerminusModule this module imports and re-exports. */
  terminus?: TerminusModuleOptions;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 3000;

export function resolveHealthOptions(options: StorageHealthOptions = {}): ResolvedStorageHealthOptions {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const cacheMs = options.cacheMs ?? 0;
  for (const [name, value] of Object.entries({ timeoutMs, cacheMs })) {
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`StorageHealthModule: ${name} must be a whole number of milliseconds`);
  }
  return { timeoutMs, cacheMs };
}
