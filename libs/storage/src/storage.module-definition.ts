import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { StorageProviderClass } from './contract/index.js';
import type { ContentInspector, ContentScanner } from './hooks/index.js';
import type { StorageModuleOptions } from './config/index.js';

/**
 * Options that shape the module itself. They sit outside an async factory because DI tokens
 * and routes must exist when the module is defined.
 */
export interface StorageModuleExtras {
  /** Register the module globally. Default false. */
  isGlobal?: boolean;
  /** Name of the TypeORM data source holding the registry. Default: the default data source. */
  dataSource?: string;
  /** Custom provider types (classes decorated with @StorageProviderType). */
  providerTypes?: StorageProviderClass[];
  /**
   * Provider names to expose under their own DI token (`@InjectStorageProvider(name)`) with
   * forRootAsync. With forRoot, every configured name is exposed.
   */
  providerNames?: string[];
  /** Path prefix of the signed-URL controller (`false` to not mount it). Default `storage`. */
  route?: string | false;
  /** Content inspectors run on every upload before anything is stored. */
  inspectors?: Type<ContentInspector>[];
  /** Content scanners run before an artifact becomes ready. */
  scanners?: Type<ContentScanner>[];
}

export const {
  ConfigurableModuleClass: ConfigurableStorageModule,
  MODULE_OPTIONS_TOKEN: STORAGE_MODULE_OPTIONS,
  OPTIONS_TYPE: STORAGE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: STORAGE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StorageModuleOptions>({ moduleName: 'BoardsStorage' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createStorageOptions')
  .setExtras<StorageModuleExtras>(
    { isGlobal: false, providerTypes: [], providerNames: [], route: 'storage', inspectors: [], scanners: [] },
    (definition, extras) => ({ ...definition, global: extras.isGlobal }),
  )
  .build();
