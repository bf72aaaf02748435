import { SetMetadata, type Type } from '@nestjs/common';
import type { StorageProvider } from './storage-provider.js';

export const STORAGE_PROVIDER_TYPE_METADATA = 'boards-storage:provider-type';

export interface StorageProviderTypeOptions {
  /**
   * A class-validator decorated class describing the `config` block. It is validated at boot
   * and every problem is reported with its path (`providers.<name>.config.<field>`).
   */
  config?: Type<object>;
}

export interface StorageProviderTypeMetadata extends StorageProviderTypeOptions {
  type: string;
}

/** Marks a StorageProvider subclass as the implementation of a provider `type`. */
export const StorageProviderType = (type: string, options: StorageProviderTypeOptions = {}) =>
  SetMetadata(STORAGE_PROVIDER_TYPE_METADATA, { type, ...options } satisfies StorageProviderTypeMetadata);

export type StorageProviderClass = Type<StorageProvider>;

export function getProviderTypeMetadata(cls: Function): StorageProviderTypeMetadata | undefined {
  return Reflect.getMetadata(STORAGE_PROVIDER_TYPE_METADATA, cls) as StorageProviderTypeMetadata | undefined;
}
