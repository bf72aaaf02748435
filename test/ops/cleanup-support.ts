import { utimes } from 'node:fs/promises';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  ArtifactRegistry,
  STORAGE_ENTITIES,
  STORAGE_MIGRATIONS,
  StorageModule,
  StorageService,
  getStorageProviderToken,
  type CleanupOptions,
  type StorageModuleOptions,
} from '@app/storage';
import { StorageCleanupModule, StorageCleanupService } from '@app/storage/cleanup';
import { databaseOptions } from '../../src/database/database-options.js';
import { FaultyStorageProvider } from '../support/faulty-provider.js';

/** One application instance (a replica): its own Nest app, sharing the database and the storage root. */
export interface Replica {
  moduleRef: TestingModule;
  storage: StorageService;
  registry: ArtifactRegistry;
  cleanup: StorageCleanupService;
  scheduler: SchedulerRegistry;
  /** The `local` provider of this replica (a fault-injecting wrapper around the shared root). */
  local: FaultyStorageProvider;
  close: () => Promise<void>;
}

export interface ReplicaOptions {
  databaseUrl: string;
  /** The storage root every replica shares. */
  root: string;
  cleanup?: CleanupOptions;
  storage?: Partial<StorageModuleOptions>;
}

/** Boots one replica: TypeORM, StorageModule (a `local` root behind the faulty wrapper) and StorageCleanupModule. */
export async function startReplica({ databaseUrl, root, cleanup, storage }: ReplicaOptions): Promise<Replica> {
  const options: StorageModuleOptions = {
    defaultProvider: 'local',
    providers: { local: { type: 'faulty', config: { inner: 'local', inner_config: { base_path: root } } } },
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    // No idle limit: the heartbeat test holds an upload open across an hour of fake time.
    resilience: { circuitBreaker: { consecutiveFailures: 1000 }, timeouts: { writeIdleMs: 0 } },
    cleanup: { pendingTimeoutMinutes: 60, orphanGraceHours: 24, tempFileTtlHours: 24, ...cleanup },
    ...storage,
  };
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ ...databaseOptions(databaseUrl), entities: [...STORAGE_ENTITIES], migrations: [...STORAGE_MIGRATIONS] }),
      StorageModule.forRoot({ ...options, providerTypes: [FaultyStorageProvider], route: false }),
      StorageCleanupModule.forRoot(),
    ],
  }).compile();
  moduleRef.enableShutdownHooks();
  await moduleRef.init();
  return {
    moduleRef,
    storage: moduleRef.get(StorageService),
    registry: moduleRef.get(ArtifactRegistry),
    cleanup: moduleRef.get(StorageCleanupService),
    scheduler: moduleRef.get(SchedulerRegistry),
    local: moduleRef.get(getStorageProviderToken('local')),
    close: () => moduleRef.close(),
  };
}

/** Sets a stored file's modification time (what the local provider lists as lastModified). */
export async function touch(root: string, key: string, at: Date): Promise<void> {
  await utimes(`${root}/${key}`, at, at);
}

/** A key of the shape StorageService writes (the only shape the orphan scan removes). */
export function serviceKey(tenant: string, leaf: string, when = new Date()): string {
  const stamp = when.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${tenant}/image/b1/${leaf}_${stamp}_0123abcd/original`;
}
