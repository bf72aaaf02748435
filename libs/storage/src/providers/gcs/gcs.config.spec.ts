import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeServiceAccount, startGcsEmulator, type GcsEmulator } from '../../../../../test/support/gcs-emulator.js';
import { createStorageTestingModule } from '../../../../../test/support/storage-app.js';
import { tempDir } from '../../../../../test/support/temp-dir.js';
import { validatePlain } from '../../config/index.js';
import { getProviderTypeMetadata } from '../../contract/index.js';
import { ConfigurationError } from '../../errors/index.js';
import { readAll } from '../../streams/index.js';
import { StorageModule } from '../../storage.module.js';
import { StorageService } from '../../service/storage.service.js';
import { BUILT_IN_PROVIDER_TYPES } from '../builtin-types.js';
import { GcsProviderConfig } from './gcs.config.js';

const { credentials } = fakeServiceAccount();
const AT = 'providers.archive.config';

function problems(config: Record<string, unknown>): string[] {
  return validatePlain(GcsProviderConfig, config, AT).problems;
}

describe('gcs config', () => {
  it('accepts the documented keys', () => {
    expect(
      problems({
        bucket: 'boards-artifacts.example',
        project_id: 'boards-prod',
        credentials,
        api_endpoint: 'https://storage.europe-west1.rep.googleapis.com',
        use_auth_with_custom_endpoint: true,
        kms_key_name: 'projects/boards-prod/locations/europe/keyRings/storage/cryptoKeys/artifacts',
        resumable_threshold: 16_777_216,
      }),
    ).toEqual([]);
    expect(problems({ bucket: 'boards', key_filename: '/etc/boards/gcs-key.json' })).toEqual([]);
    // No credentials at all: Application Default Credentials.
    expect(problems({ bucket: 'boards' })).toEqual([]);
    // Inline credentials as the JSON text of the key (e.g. from an environment variable).
    expect(problems({ bucket: 'boards', credentials: JSON.stringify(credentials) })).toEqual([]);
  });

  it('reports each problem at its path', () => {
    expect(problems({})).toContainEqual(expect.stringMatching(new RegExp(`^${AT}\\.bucket: `)));
    expect(problems({ bucket: 'Not A Bucket!' })).toEqual([`${AT}.bucket: must be a Cloud Storage bucket name (3-222 of a-z, 0-9, ".", "-", "_")`]);
    expect(problems({ bucket: 'boards', key_filename: '/k.json', credentials })).toEqual([
      `${AT}.key_filename: cannot be combined with credentials: give one of them`,
    ]);
    expect(problems({ bucket: 'boards', credentials: '{"client_email":"a@b"}' })).toEqual([
      `${AT}.credentials: must be a service-account key (an object, or its JSON as a string) with client_email and private_key`,
    ]);
    expect(problems({ bucket: 'boards', credentials: 'not json' })).toHaveLength(1);
    expect(problems({ bucket: 'boards', api_endpoint: 'storage.local' })).toEqual([`${AT}.api_endpoint: must be an http(s) URL`]);
    expect(problems({ bucket: 'boards', kms_key_name: 'my-key' })).toEqual([
      `${AT}.kms_key_name: must look like projects/P/locations/L/keyRings/R/cryptoKeys/K`,
    ]);
    expect(problems({ bucket: 'boards', resumable_threshold: -1 })).toHaveLength(1);
    expect(problems({ bucket: 'boards', keyFilename: '/k.json' })).toEqual([`${AT}.keyFilename: is not a known option`]);
  });

  it('is the built-in type "gcs", loaded on demand with the package it needs named', async () => {
    const builtIn = BUILT_IN_PROVIDER_TYPES.gcs;
    expect(builtIn.packages).toEqual(['@google-cloud/storage@^7']);
    const cls = await builtIn.load();
    expect(getProviderTypeMetadata(cls)).toMatchObject({ type: 'gcs', config: GcsProviderConfig });
  });
});

describe('gcs through StorageModule', () => {
  let emulator: GcsEmulator;
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    [emulator, dir] = await Promise.all([startGcsEmulator(), tempDir()]);
  });
  afterAll(async () => {
    await emulator?.stop();
    await dir?.remove();
  });

  it('refuses a bad gcs block at boot with path-precise problems', async () => {
    const error = await createStorageTestingModule(
      `sqlite:${dir.path}/bad.sqlite`,
      StorageModule.forRoot({
        defaultProvider: 'archive',
        providers: { archive: { type: 'gcs', config: { bucket: 'UPPER', kms_key_name: 'k' } } },
        route: false,
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual([
      `${AT}.bucket: must be a Cloud Storage bucket name (3-222 of a-z, 0-9, ".", "-", "_")`,
      `${AT}.kms_key_name: must look like projects/P/locations/L/keyRings/R/cryptoKeys/K`,
    ]);
  });

  it('stores and reads an artifact on a configured gcs provider', async () => {
    const moduleRef = await createStorageTestingModule(
      `sqlite:${dir.path}/good.sqlite`,
      StorageModule.forRoot({
        defaultProvider: 'archive',
        providers: {
          archive: { type: 'gcs', config: { bucket: 'module-test', project_id: emulator.projectId, api_endpoint: emulator.apiEndpoint, credentials } },
        },
        route: false,
      }),
    );
    try {
      const storage = moduleRef.get(StorageService);
      const stored = await storage.storeArtifact({ body: Buffer.from('{"ok":true}'), artifactType: 'json', contentType: 'application/json' });
      expect(stored).toMatchObject({ provider: 'archive', size: 11 });
      const opened = await storage.openArtifact(stored.id);
      expect((await readAll(opened.body)).toString()).toBe('{"ok":true}');
      const url = await storage.getDownloadUrl(stored.id);
      expect(url.url).toContain('X-Goog-Signature=');
    } finally {
      await moduleRef.close();
    }
  });
});
