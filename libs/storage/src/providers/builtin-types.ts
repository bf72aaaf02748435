import type { StorageProviderClass } from '../contract/index.js';

export interface BuiltInProviderType {
  /** Loads the implementation; its SDK is imported only then. */
  load: () => Promise<StorageProviderClass>;
  /** npm packages the type needs, named in the error when they are missing. */
  packages: string[];
}

/**
 * Provider types that ship with the plugin. Each loads with a literal dynamic import, so an app
 * that configures only `local` never loads a cloud SDK.
 */
export const BUILT_IN_PROVIDER_TYPES: Record<string, BuiltInProviderType> = {
  local: {
    load: async () => (await import('./local/local.provider.js')).LocalStorageProvider,
    packages: [],
  },
  memory: {
    load: async () => (await import('./memory/memory.provider.js')).MemoryStorageProvider,
    packages: [],
  },
  s3: {
    load: async () => (await import('./s3/s3.provider.js')).S3StorageProvider,
    packages: ['@aws-sdk/client-s3@^3', '@aws-sdk/lib-storage@^3', '@aws-sdk/s3-request-presigner@^3', '@aws-sdk/s3-presigned-post@^3'],
  },
  gcs: {
    load: async () => (await import('./gcs/gcs.provider.js')).GcsStorageProvider,
    packages: ['@google-cloud/storage@^7'],
  },
  supabase: {
    load: async () => (await import('./supabase/supabase.provider.js')).SupabaseStorageProvider,
    packages: ['@supabase/storage-js@2.109.0', 'tus-js-client@^4'],
  },
};
