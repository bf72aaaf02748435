import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigModule } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { startSelfServedApp } from '../support/self-served-app.js';
import { tempDir } from '../support/temp-dir.js';
import { HashedFolderProvider } from './custom-provider.js';
import { runConformanceSuite } from './suite.js';

// The plugin path end to end: a provider type defined outside the library, registered with
// providerTypes, configured by type name, built by Nest's DI (it injects ConfigService).
runConformanceSuite({
  name: 'custom',
  async setup() {
    const dir = await tempDir('boards-conformance-custom-');
    const app = await startSelfServedApp({
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          load: [() => ({ HASHED_FOLDER_SIGNING_SECRET: 'conformance-custom-signing-secret' })],
        }),
      ],
      providerTypes: [HashedFolderProvider],
      storage: {
        defaultProvider: 'vault',
        providers: {
          vault: {
            type: 'hashed-folder',
            config: { directory: join(dir.path, 'vault'), signing_secret_setting: 'HASHED_FOLDER_SIGNING_SECRET' },
          },
        },
      },
    });
    const provider = app.provider('vault');
    if (!(provider instanceof HashedFolderProvider)) throw new Error('the custom type was not used for "vault"');
    return {
      provider,
      urlBase: app.url,
      // Same type through the same DI, on a folder that turned into a file.
      async unreachable() {
        const broken = join(dir.path, `broken-${randomUUID()}`);
        const down = await app.app.get(ModuleRef).create(HashedFolderProvider);
        await down.initialize({ name: 'broken', config: { directory: broken, signing_secret_setting: 'HASHED_FOLDER_SIGNING_SECRET' } });
        await rm(broken, { recursive: true });
        await writeFile(broken, 'not a folder');
        return down;
      },
      async teardown() {
        await app.close();
        await dir.remove();
      },
    };
  },
});
