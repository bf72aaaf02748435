import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalStorageProvider } from '@app/storage';
import { startSelfServedApp } from '../support/self-served-app.js';
import { tempDir } from '../support/temp-dir.js';
import { runConformanceSuite } from './suite.js';

runConformanceSuite({
  name: 'local',
  async setup() {
    const dir = await tempDir('boards-conformance-local-');
    const app = await startSelfServedApp({
      storage: {
        defaultProvider: 'local',
        providers: {
          local: { type: 'local', config: { base_path: join(dir.path, 'root'), signing_secret: 'conformance-local-signing-secret' } },
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
        await provider.initialize({ name: 'local-gone', config: { base_path: root } });
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
