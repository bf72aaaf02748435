import { Controller, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { resolveStorageOptions, type ResolvedStorageOptions, type StorageModuleOptions } from './config/index.js';
import { SignedUrlController } from './http/signed-url.controller.js';
import { checkProviderDefinitions, StorageProviderRegistry } from './providers/storage-provider.registry.js';
import { ArtifactRegistry } from './registry/index.js';
import { ConfigurationError } from './errors/index.js';
import { STORAGE_INSTRUMENTATION_OVERRIDE, StorageInstrumentation } from './service/instrumentation.js';
import { StorageService } from './service/storage.service.js';
import { StorageResilience } from './resilience/storage-resilience.js';
import {
  STORAGE_CONTENT_INSPECTORS,
  STORAGE_CONTENT_SCANNERS,
  STORAGE_HTTP_ROUTE,
  STORAGE_OPTIONS,
  getStorageProviderToken,
} from './storage.constants.js';
import {
  ConfigurableStorageModule,
  STORAGE_ASYNC_OPTIONS_TYPE,
  STORAGE_MODULE_OPTIONS,
  STORAGE_OPTIONS_TYPE,
  type StorageModuleExtras,
} from './storage.module-definition.js';

const EXTRA_KEYS = ['isGlobal', 'dataSource', 'providerTypes', 'providerNames', 'route', 'inspectors', 'scanners'] as const;

/**
 * The Boards storage module. `forRoot(options)` or `forRootAsync({useFactory | useClass |
 * useExisting})`; options are validated at boot (one error listing every problem).
 */
@Module({})
export class StorageModule extends ConfigurableStorageModule {
  static override forRoot(options: typeof STORAGE_OPTIONS_TYPE): DynamicModule {
    const names = Object.keys(options.providers ?? {});
    return this.extend(super.forRoot(options), options, names);
  }

  static override forRootAsync(options: typeof STORAGE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return this.extend(super.forRootAsync(options), options, options.providerNames ?? []);
  }

  private static extend(base: DynamicModule, extras: StorageModuleExtras, names: string[]): DynamicModule {
    const route = extras.route === undefined ? 'storage' : extras.route;
    const providerTypes = extras.providerTypes ?? [];
    const inspectorTypes = extras.inspectors ?? [];
    const scannerTypes = extras.scanners ?? [];
    const providers: Provider[] = [
      {
        provide: STORAGE_OPTIONS,
        useFactory: async (raw: StorageModuleOptions & Record<string, unknown>) => {
          const options = { ...raw };
          for (const key of EXTRA_KEYS) delete options[key];
          // One error for everything: the options themselves, then what the provider definitions'
          // own checks find (types, SDKs, config blocks), before any provider starts.
          let resolved: ResolvedStorageOptions | undefined;
          let invalid: ConfigurationError | undefined;
          try {
            resolved = resolveStorageOptions(options);
          } catch (error) {
            if (!(error instanceof ConfigurationError)) throw error;
            invalid = error;
          }
          const { problems } = await checkProviderDefinitions(options.providers, providerTypes);
          if (invalid || problems.length) {
            throw new ConfigurationError('Invalid storage options:', [...(invalid?.problems ?? []), ...problems], { cause: invalid });
          }
          return resolved!;
        },
        inject: [STORAGE_MODULE_OPTIONS],
      },
      { provide: STORAGE_HTTP_ROUTE, useValue: route === false ? 'storage' : route },
      {
        provide: StorageProviderRegistry,
        useFactory: (options: ResolvedStorageOptions, moduleRef: ModuleRef) =>
          StorageProviderRegistry.create(options, moduleRef, providerTypes),
        inject: [STORAGE_OPTIONS, ModuleRef],
      },
      {
        provide: ArtifactRegistry,
        useFactory: (dataSource: DataSource) => new ArtifactRegistry(dataSource),
        inject: [getDataSourceToken(extras.dataSource)],
      },
      ...inspectorTypes,
      ...scannerTypes,
      {
        provide: STORAGE_CONTENT_INSPECTORS,
        useFactory: (...inspectors: unknown[]) => inspectors,
        inject: inspectorTypes,
      },
      {
        provide: STORAGE_CONTENT_SCANNERS,
        useFactory: (...scanners: unknown[]) => scanners,
        inject: scannerTypes,
      },
      {
        // A module such as StorageMetricsModule may supply a subclass (it is global, so visible here).
        provide: StorageInstrumentation,
        useFactory: (replacement?: StorageInstrumentation) => replacement ?? new StorageInstrumentation(),
        inject: [{ token: STORAGE_INSTRUMENTATION_OVERRIDE, optional: true }],
      },
      StorageResilience,
      StorageService,
      ...names.map<Provider>((name) => ({
        provide: getStorageProviderToken(name),
        useFactory: (registry: StorageProviderRegistry) => registry.get(name),
        inject: [StorageProviderRegistry],
      })),
    ];
    const controllers = [];
    if (route !== false) {
      // A subclass per module so the mount path comes from the options.
      @Controller(route)
      class MountedSignedUrlController extends SignedUrlController {}
      controllers.push(MountedSignedUrlController);
    }
    return {
      ...base,
      providers: [...(base.providers ?? []), ...providers],
      controllers: [...(base.controllers ?? []), ...controllers],
      exports: [
        ...(base.exports ?? []),
        STORAGE_OPTIONS,
        StorageService,
        StorageResilience,
        StorageProviderRegistry,
        ArtifactRegistry,
        StorageInstrumentation,
        ...names.map((name) => getStorageProviderToken(name)),
      ],
    };
  }
}
