import { Module, type DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ArtifactRegistry } from '../registry/index.js';
import { StorageAuditLog } from './audit-log.js';
import { StorageAuditInterceptor } from './audit.interceptor.js';

export interface StorageAuditModuleOptions {
  /** Name of the TypeORM data source holding `storage_audit_events`. Default: the default data source. */
  dataSource?: string;
  /** Register StorageAuditInterceptor for every route (it records only @AuditAction routes). Default true. */
  interceptor?: boolean;
  isGlobal?: boolean;
}

/**
 * The audit trail: StorageAuditLog (a table through TypeORM: add STORAGE_ENTITIES and
 * STORAGE_MIGRATIONS to the data source) and the interceptor that feeds it. Import it where
 * the guarded controllers are declared, so ArtifactAccessGuard records its denials too.
 */
@Module({})
export class StorageAuditModule {
  static forRoot(options: StorageAuditModuleOptions = {}): DynamicModule {
    const dataSourceToken = getDataSourceToken(options.dataSource);
    return {
      module: StorageAuditModule,
      global: options.isGlobal ?? false,
      providers: [
        { provide: StorageAuditLog, useFactory: (dataSource: DataSource) => new StorageAuditLog(dataSource), inject: [dataSourceToken] },
        {
          provide: StorageAuditInterceptor,
          useFactory: (reflector: Reflector, audit: StorageAuditLog, dataSource: DataSource) =>
            new StorageAuditInterceptor(reflector, audit, new ArtifactRegistry(dataSource)),
          inject: [Reflector, StorageAuditLog, dataSourceToken],
        },
        ...(options.interceptor === false
          ? []
          : [{ provide: APP_INTERCEPTOR, useFactory: (interceptor: StorageAuditInterceptor) => interceptor, inject: [StorageAuditInterceptor] }]),
      ],
      exports: [StorageAuditLog, StorageAuditInterceptor],
    };
  }
}
