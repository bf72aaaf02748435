import type { Type } from '@nestjs/common';
import type { StorageProviderClass } from '../contract/index.js';
import { GcsProviderConfig } from './gcs/gcs.config.js';
import { LocalProviderConfig } from './local/local.provider.js';
import { MemoryProviderConfig } from './memory/memory.provider.js';
import { S3ProviderConfig } from './s3/s3.config.js';
import { SupabaseProviderConfig } from './supabase/supabase.config.js';

export interface BuiltInProviderType {
  /** Loads the implementation; its SDK is imported only then. */
  load: () => Promise<StorageProviderClass>;
  /** npm packages the type needs, named in the error when they are missing. */
  packages: string[];
  /**
   * The class that validates the type's `config` block, importable without the SDK, so that
   * `loadStorageConfig` can check these blocks before anything is loaded.
   */
  config?: Type<object>;
}

/**
 * Provider types that ship with the plugin. Each loads with a literal dynamic import, so an app
 * that configures only `local` never loads a cloud SDK.
 */
export const BUILT_IN_PROVIDER_TYPES: Record<string, BuiltInProviderType> = {
  local: {
    config: LocalProviderConfig,
    load: async () => (await import('./local/local.provider.js')).LocalStorageProvider,
    packages: [],
  },
  memory: {
    config: MemoryProviderConfig,
    load: async () => (await import('./memory/memory.provider.js')).MemoryStorageProvider,
    packages: [],
  },
  s3: {
    config: S3ProviderConfig,
    load: async () => (await import('./s3/s3.provider.js')).S3StorageProvider,
    packages: ['@aws-sdk/client-s3@^3', '@aws-sdk/lib-storage@^3', '@aws-sdk/s3-request-presigner@^3', '@aws-sdk/s3-presigned-post@^3'],
  },
  gcs: {
    config: GcsProviderConfig,
    load: async () => (await import('./gcs/gcs.provider.js')).GcsStorageProvider,
    packages: ['@google-cloud/storage@^7'],
  },
  supabase: {
    config: SupabaseProviderConfig,
    load: async () => (await import('./supabase/supabase.provider.js')).SupabaseStorageProvider,
    packages: ['@supabase/storage-js@2.109.0', 'tus-js-client@^4'],
  },
};

/** The built-in type of that name, if any (own names only: `constructor` is no type). */
export function builtInType(type: unknown): BuiltInProviderType | undefined {
  return typeof type === 'string' && Object.hasOwn(BUILT_IN_PROVIDER_TYPES, type) ? BUILT_IN_PROVIDER_TYPES[type] : undefined;
}
