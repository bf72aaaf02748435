import { StoredArtifact } from './artifact.entity.js';
import { CreateStorageArtifacts1764480000000 } from './migrations/1764480000000-create-storage-artifacts.js';
import { StorageAuditEvent } from '../audit/audit-event.entity.js';
import { CreateStorageAuditEvents1764480001000 } from '../audit/migrations/1764480001000-create-storage-audit-events.js';
import { StorageLease } from '../cleanup/locks/storage-lease.entity.js';
import { CreateStorageLeases1764480002000 } from '../cleanup/migrations/1764480002000-create-storage-leases.js';

export * from './artifact.entity.js';
export * from './artifact-registry.js';
export * from './registry.errors.js';
export { CreateStorageArtifacts1764480000000 };

/** Entities the host app adds to its TypeORM data source. */
export const STORAGE_ENTITIES = [StoredArtifact, StorageLease, StorageAuditEvent];
/** Migrations the host app adds to its TypeORM data source (schema is never synchronised). */
export const STORAGE_MIGRATIONS = [CreateStorageArtifacts1764480000000, CreateStorageAuditEvents1764480001000, CreateStorageLeases1764480002000];
