import { ConfigurableModuleBuilder, Module, type DynamicModule } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ArtifactRegistry } from '../registry/index.js';
import { STORAGE_INSTRUMENTATION_OVERRIDE } from '../service/instrumentation.js';
import { MetricsStorageInstrumentation } from './metrics.instrumentation.js';
import { StorageMetrics } from './storage-metrics.js';
import type { StorageMetricsOptions } from './storage-metrics.options.js';
import { storedBytesFromRegistry } from './stored-bytes.source.js';

const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StorageMetricsOptions>({ moduleName: 'BoardsStorageMetrics' })
  .setClassMethodName('forRoot')
  // Global by necessity: StorageModule picks up the instrumentation it supplies from the global scope.
  .setExtras({}, (definition) => ({ ...definition, global: true }))
  .build();

function lookUp(moduleRef: ModuleRef): ArtifactRegistry | undefined {
  try {
    return moduleRef.get(ArtifactRegistry, { strict: false });
  } catch {
    return undefined;
  }
}

/**
 * Prometheus metrics of the storage module. Importing it (from `@boards/storage/metrics`, so
 * prom-client loads only then) makes every StorageService report to StorageMetrics; serve
 * `StorageMetrics.scrape()` from a route of your choice.
 */
@Module({})
export class StorageMetricsModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return this.extend(super.forRoot(options));
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return this.extend(super.forRootAsync(options));
  }

  private static extend(base: DynamicModule): DynamicModule {
    return {
      ...base,
      providers: [
        ...(base.providers ?? []),
        {
          provide: StorageMetrics,
          // The registry is looked up at scrape time: StorageModule may live in another module.
          useFactory: (options: StorageMetricsOptions, moduleRef: ModuleRef) =>
            new StorageMetrics(options, storedBytesFromRegistry(() => lookUp(moduleRef))),
          inject: [MODULE_OPTIONS_TOKEN, ModuleRef],
        },
        MetricsStorageInstrumentation,
        { provide: STORAGE_INSTRUMENTATION_OVERRIDE, useExisting: MetricsStorageInstrumentation },
      ],
      exports: [...(base.exports ?? []), StorageMetrics, MetricsStorageInstrumentation, STORAGE_INSTRUMENTATION_OVERRIDE],
    };
  }
}
