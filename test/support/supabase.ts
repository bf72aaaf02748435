import type { SupabaseProviderConfig } from '../../libs/storage/src/providers/supabase/supabase.config.js';
import { SupabaseStorageProvider } from '../../libs/storage/src/providers/supabase/supabase.provider.js';
import { startSupabaseDouble, type SupabaseDouble, type SupabaseDoubleOptions } from './supabase-double/index.js';

export const SUPABASE_TEST_BUCKET = 'boards-artifacts';
export const SUPABASE_PUBLIC_BUCKET = 'boards-public';

/** A started double with the two test buckets, and a factory of providers pointed at it. */
export async function startSupabaseBackend(options: SupabaseDoubleOptions = {}) {
  const double: SupabaseDouble = await startSupabaseDouble({
    buckets: [{ id: SUPABASE_TEST_BUCKET }, { id: SUPABASE_PUBLIC_BUCKET, public: true }],
    ...options,
  });
  const provider = async (config: Partial<SupabaseProviderConfig> = {}, name = 'supabase') => {
    const instance = new SupabaseStorageProvider();
    await instance.initialize({ name, config: { url: double.url, key: double.serviceRoleKey, bucket: SUPABASE_TEST_BUCKET, ...config } });
    return instance;
  };
  return { double, provider };
}
