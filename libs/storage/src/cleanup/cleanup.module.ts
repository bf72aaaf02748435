import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { STORAGE_CLEANUP_MODULE_OPTIONS, type StorageCleanupModuleOptions } from './cleanup.options.js';
import { StorageCleanupService } from './cleanup.service.js';

/**
 * The background sweeper of the storage module: expired temporary artifacts, bytes of deleted
 * records, abandoned uploads and orphaned objects, on the schedule of the `cleanup` block, one
 * replica at a time. Import it next to StorageModule; set `cleanup.enabled: false` on replicas
 * that should not sweep (a dedicated worker can own it).
 */
@Module({})
export class StorageCleanupModule {
  static forRoot(options: StorageCleanupModuleOptions = {}): DynamicModule {
    return {
      module: StorageCleanupModule,
      imports: [ScheduleModule.forRoot()],
      providers: [{ provide: STORAGE_CLEANUP_MODULE_OPTIONS, useValue: options }, StorageCleanupService],
      exports: [StorageCleanupService],
    };
  }
}
