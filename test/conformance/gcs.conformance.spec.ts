import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { StorageProvider } from '@app/storage';
// Not exported from the barrel: importing @app/storage must not load the Google SDK.
import { GcsStorageProvider } from '../../libs/storage/src/providers/gcs/gcs.provider.js';
import { gcsTestConfig, startGcsEmulator } from '../support/gcs-emulator.js';
import { runConformanceSuite } from './suite.js';

const REQUESTS_SPEC = 'libs/storage/src/providers/gcs/gcs.requests.spec.ts';

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function gcsProvider(name: string, config: Record<string, unknown>): Promise<StorageProvider> {
  const provider = new GcsStorageProvider();
  await provider.initialize({ name, config: config as never });
  return provider;
}

runConformanceSuite({
  name: 'gcs',
  // The emulator keeps every object in memory (in its own process): 64 MiB keeps it well under
  // what the machine allows while still streaming through several resumable-upload buffers.
  largeObjectBytes: 64 * 1024 * 1024,
  backendLimitations: {
    createOnly: `the Firebase Storage emulator ignores ifGenerationMatch and overwrites; ${REQUESTS_SPEC} checks that ifGenerationMatch=0 is sent and that GCS's 412 becomes AlreadyExistsError`,
    presignUpload: `the emulator answers 501 to a signed PUT; ${REQUESTS_SPEC} verifies the URL's V4 signature and signed headers with the signing key`,
    presignUploadEnforcesContentType: `the emulator accepts no signed PUT; ${REQUESTS_SPEC} shows content-type is a signed header, so GCS refuses another type`,
    presignUploadEnforcesMaxSize: `the emulator accepts no signed PUT; ${REQUESTS_SPEC} shows x-goog-content-length-range is a signed header`,
    presignEnforcesSignature: `the emulator serves tampered and unsigned URLs alike; ${REQUESTS_SPEC} verifies the signature breaks on another method, path or query`,
    presignEnforcesExpiry: `the emulator serves expired URLs; ${REQUESTS_SPEC} checks X-Goog-Expires and that the signature covers it`,
  },
  async setup() {
    const emulator = await startGcsEmulator();
    const { config } = gcsTestConfig(emulator, `conformance-${randomBytes(4).toString('hex')}`);
    return {
      provider: await gcsProvider('gcs', config),
      unreachable: async () => gcsProvider('gcs-down', { ...config, api_endpoint: `http://127.0.0.1:${await closedPort()}` }),
      teardown: () => emulator.stop(),
    };
  },
});
