export { StorageCleanupModule } from './cleanup.module.js';
export type { StorageCleanupModuleOptions } from './cleanup.options.js';
export { StorageCleanupService, type SweepReport } from './cleanup.service.js';
export { CleanupQueries } from './cleanup.queries.js';
export { GenerationJobScope, type JobOutcome, type JobScopeStorage } from './job-scope.js';
export * from './locks/index.js';
export { CreateStorageLeases1764480002000 } from './migrations/1764480002000-create-storage-leases.js';
export { StorageSweeper, isServiceKey, type SweepResult } from './storage-sweeper.js';
