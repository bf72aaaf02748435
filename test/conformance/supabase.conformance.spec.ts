import { createServer } from 'node:net';
import { BUILT_IN_PROVIDER_TYPES } from '@app/storage';
import { startSelfServedApp } from '../support/self-served-app.js';
import { startSupabaseDouble } from '../support/supabase-double/index.js';
import { runConformanceSuite } from './suite.js';

// The double verifies what the provider relies on (Bearer JWTs, signed-URL tokens with their
// path and expiry, TUS offsets), so no check is waived for the backend. What Supabase itself
// cannot do is declared in the provider's capabilities (create-only is not atomic, signed upload
// URLs bind neither a content type nor a size, nor take a lifetime) and skipped with that reason.

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type SupabaseTarget = {
  url: string;
  key: string;
  bucket: string;
};

/** Boots the provider through the module, as an application configures it (the built-in type loads on demand). */
async function environment(config: SupabaseTarget, stop: () => Promise<void> = async () => {}) {
  const app = await startSelfServedApp({ storage: { defaultProvider: 'supabase', providers: { supabase: { type: 'supabase', config } } } });
  return {
    provider: app.provider('supabase'),
    async unreachable() {
      const SupabaseStorageProvider = await BUILT_IN_PROVIDER_TYPES.supabase.load();
      const down = new SupabaseStorageProvider();
      await down.initialize({ name: 'supabase-down', config: { ...config, url: `http://127.0.0.1:${await closedPort()}`, public: false } });
      return down;
    },
    async teardown() {
      await app.close();
      await stop();
    },
  };
}

runConformanceSuite({
  name: 'supabase',
  async setup() {
    const double = await startSupabaseDouble({ buckets: [{ id: 'conformance' }] });
    return environment({ url: double.url, key: double.serviceRoleKey, bucket: 'conformance' }, () => double.stop());
  },
});

// The same suite against a real project, outside CI: SUPABASE_TEST_URL, SUPABASE_TEST_KEY (the
// service_role key) and SUPABASE_TEST_BUCKET (a scratch bucket: each run leaves its keys under a
// `conformance-<random>/` prefix). 40 MiB stays under the hosted free plan's 50 MB file limit.
const live = process.env.SUPABASE_TEST_URL && process.env.SUPABASE_TEST_KEY;
if (live) {
  runConformanceSuite({
    name: 'supabase-live',
    largeObjectBytes: 40 * 1024 * 1024,
    setup: () =>
      environment({ url: process.env.SUPABASE_TEST_URL!, key: process.env.SUPABASE_TEST_KEY!, bucket: process.env.SUPABASE_TEST_BUCKET ?? 'conformance' }),
  });
}
