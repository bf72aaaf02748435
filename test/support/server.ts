import type { NestExpressApplication } from '@nestjs/platform-express';
import type { StorageModuleOptions } from '@app/storage';
import { createServer } from '../../src/bootstrap.js';
import { loadSettings, type ServerSettings } from '../../src/settings.js';
import { tempDir } from './temp-dir.js';
import { TEST_JWT_SECRET } from './tokens.js';

export interface TestServer {
  app: NestExpressApplication;
  url: string;
  storageRoot: string;
  dir: string;
  settings: ServerSettings;
  close: () => Promise<void>;
}

export interface TestServerOptions {
  databaseUrl?: string;
  /** Storage options; default: one local provider under a temp folder. */
  storage?: (dir: string) => StorageModuleOptions;
  env?: Record<string, string>;
}

/** Boots the reference server on port 0 with its own temp storage root and SQLite file. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await tempDir('boards-e2e-');
  const storageRoot = `${dir.path}/storage`;
  const settings = loadSettings({
    BOARDS_JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${dir.path}/boards.sqlite`,
    PORT: '0',
    ...options.env,
  });
  const storage: StorageModuleOptions = options.storage?.(dir.path) ?? {
    defaultProvider: 'local',
    providers: { local: { type: 'local', config: { base_path: storageRoot, signing_secret: 'a-test-signing-secret-0123456789' } } },
    maxFileSize: '10MB',
  };
  const app = await createServer({ settings, storage, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    storageRoot,
    dir: dir.path,
    settings,
    close: async () => {
      await app.close();
      await dir.remove();
    },
  };
}
