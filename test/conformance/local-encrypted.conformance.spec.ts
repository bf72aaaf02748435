import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runConformanceSuite } from './suite.js';
import { startSelfServedApp } from '../support/self-served-app.js';
import { tempDir } from '../support/temp-dir.js';

// The local provider with envelope encryption at rest: every case of the shared suite runs
// against sealed objects (sizes, ranges and presigned URLs are in plaintext terms). Two master
// keys with the newer active, as during a rotation; small chunks so ranges cross frame edges.
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
                chunk_size: 4096,
              },
            },
          },
        },
      },
    });
    return {
      provider: app.provider('local'),
      urlBase: app.url,
      async teardown() {
        await app.close();
        await dir.remove();
      },
    };
  },
});
