import type { SweepLock } from './locks/sweep-lock.js';

/**
 * Options of StorageCleanupModule itself. What to sweep and when comes from the storage
 * configuration's `cleanup` block; these only shape the module.
 */
export interface StorageCleanupModuleOptions {
  /** Name of the job in SchedulerRegistry (and of the lock). Default `boards-storage-cleanup`. */
  jobName?: string;
  /** A lock of your own instead of the one `cleanup.lock` selects. */
  lock?: SweepLock;
}

export const STORAGE_CLEANUP_MODULE_OPTIONS = Symbol('BOARDS_STORAGE_CLEANUP_MODULE_OPTIONS');
