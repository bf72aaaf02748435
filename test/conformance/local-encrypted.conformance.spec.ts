import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalStorageProvider } from '@app/storage';
import { runConformanceSuite } from './suite.js';
import { startSelfServedApp } from '../support/self-served-app.js';
import { tempDir } from '../support/temp-dir.js';

// The local provider with envelope encryption at rest: every case of the shared suite runs
// against sealed objects (sizes, ranges and presigned URLs are in plaintext terms). Two master
// keys with the newer active, as during a rotation; the default 64 KiB frames.
runConformanceSuite({
  name: 'local-encrypted',
  async setup() {
    const dir = await tempDir('boards-conformance-local-enc-');
    const app = await startSelfServedApp({
      storage: {
        defaultProvider: 'local',
        providers: {
          local: {
            type: 'local',
            config: {
              base_path: join(dir.path, 'root'),
              signing_secret: 'conformance-local-signing-secret',
              encryption: {
                master_keys: { k2: randomBytes(32).toString('base64'), k1: randomBytes(32).toString('base64') },
                active_key_id: 'k2',
              },
            },
          },
        },
      },
    });
    return {
      provider: app.provider('local'),
      urlBase: app.url,
      // A root that vanished and became a plain file: every write under it fails with ENOTDIR.
      async unreachable() {
        const root = join(dir.path, `gone-${randomUUID()}`);
        await mkdir(root);
        const provider = new LocalStorageProvider();
        await provider.initialize({
          name: 'local-gone',
          config: { base_path: root, encryption: { master_keys: { k1: randomBytes(32).toString('base64') } } },
        });
        await rm(root, { recursive: true });
        await writeFile(root, 'not a folder');
        return provider;
      },
      async teardown() {
        await app.close();
        await dir.remove();
      },
    };
  },
});
