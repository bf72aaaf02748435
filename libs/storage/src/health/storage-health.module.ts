import { ConfigurableModuleBuilder, Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { STORAGE_HEALTH_OPTIONS } from './storage-health.constants.js';
import { StorageHealthIndicator } from './storage-health.indicator.js';
import { resolveHealthOptions, type StorageHealthModuleExtras, type StorageHealthOptions } from './storage-health.options.js';

const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StorageHealthOptions>({ moduleName: 'BoardsStorageHealth' })
  .setClassMethodName('forRoot')
  .setExtras<StorageHealthModuleExtras>({}, (definition) => definition)
  .build();

/**
 * Health checks of the storage module for Terminus: provides StorageHealthIndicator and
 * re-exports TerminusModule (HealthCheckService). Imported from `@boards/storage/health`, so an app
 * that never imports it never loads Terminus. Needs StorageModule in the same application.
 */
@Module({})
export class StorageHealthModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return this.extend(super.forRoot(options), options);
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return this.extend(super.forRootAsync(options), options);
  }

  private static extend(base: DynamicModule, extras: StorageHealthModuleExtras): DynamicModule {
    const terminus = TerminusModule.forRoot(extras.terminus ?? {});
    return {
      ...base,
      imports: [...(base.imports ?? []), terminus],
      providers: [
        ...(base.providers ?? []),
        {
          provide: STORAGE_HEALTH_OPTIONS,
          useFactory: (raw: StorageHealthOptions & StorageHealthModuleExtras) => {
            const { terminus: _terminus, ...options } = raw;
            return resolveHealthOptions(options);
          },
          inject: [MODULE_OPTIONS_TOKEN],
        },
        StorageHealthIndicator,
      ],
      exports: [...(base.exports ?? []), StorageHealthIndicator, terminus],
    };
  }
}
