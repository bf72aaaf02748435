import { access } from 'node:fs/promises';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { IsString } from 'class-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InjectStorageProvider,
  LocalStorageProvider,
  MemoryStorageProvider,
  SelfServedConfig,
  STORAGE_ENTITIES,
  STORAGE_MIGRATIONS,
  StorageModule,
  StorageProvider,
  StorageProviderType,
  StorageService,
  loadStorageConfig,
  type StorageModuleOptions,
} from '@app/storage';
import { databaseOptions } from '../../src/database/database-options.js';
import { DATABASE_KINDS, databaseUrlFor } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';
import { FIVE_PROBLEMS } from '../support/config-problems.js';

function typeorm(url: string) {
  return TypeOrmModule.forRoot({ ...databaseOptions(url), entities: [...STORAGE_ENTITIES], migrations: [...STORAGE_MIGRATIONS] });
}

async function bootError(url: string, options: StorageModuleOptions): Promise<ConfigurationError> {
  const moduleRef = Test.createTestingModule({ imports: [typeorm(url), StorageModule.forRoot({ ...options, route: false })] });
  try {
    const compiled = await moduleRef.compile();
    await compiled.close();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected the module to refuse its configuration');
}

describe('StorageModule', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let sqlite: string;
  beforeAll(async () => {
    dir = await tempDir();
    sqlite = `sqlite:${dir.path}/module.sqlite`;
  });
  afterAll(async () => dir?.remove());

  it('forRoot registers each provider under its own token', async () => {
    @Injectable()
    class UsesProvider {
      constructor(@InjectStorageProvider('files') readonly files: StorageProvider) {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [typeorm(sqlite), StorageModule.forRoot({ defaultProvider: 'files', providers: { files: { type: 'local', config: { base_path: `${dir.path}/files` } } }, route: false })],
      providers: [UsesProvider],
    }).compile();
    expect(moduleRef.get(UsesProvider).files).toBeInstanceOf(LocalStorageProvider);
    expect(moduleRef.get(UsesProvider).files.name).toBe('files');
    await moduleRef.close();
  });

  it('forRootAsync takes options from a factory, a class or an existing provider', async () => {
    const options: StorageModuleOptions = { defaultProvider: 'mem', providers: { mem: { type: 'memory' } } };
    @Injectable()
    class OptionsFactory {
      createStorageOptions() {
        return options;
      }
    }
    @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
    class OptionsModule {}

    const variants = [
      StorageModule.forRootAsync({ useFactory: async () => options, providerNames: ['mem'], route: false }),
      StorageModule.forRootAsync({ useClass: OptionsFactory, route: false }),
      StorageModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory, route: false }),
    ];
    for (const storageModule of variants) {
      const moduleRef = await Test.createTestingModule({ imports: [typeorm(sqlite), storageModule] }).compile();
      const storage = moduleRef.get(StorageService);
      const artifact = await storage.storeArtifact({ body: Buffer.from('async'), artifactType: 'text', contentType: 'text/plain' });
      expect(artifact.provider).toBe('mem');
      await moduleRef.close();
    }
  });

  it('refuses a bad configuration at boot with every problem and its path', async () => {
    const error = await bootError(sqlite, {
      defaultProvider: 'a',
      providers: {
        a: { type: 'local', config: { base_path: 42 } },
        b: { type: 'local', config: { base_path: '/tmp/x', surprise: true, fsync_interval: 'often', write_buffer: '1 KB or so' } },
        c: { type: 'nope' },
        d: { type: 'constructor' },
      },
      maxFileSize: 'lots',
    });
    expect(error.problems).toEqual(
      expect.arrayContaining([
        // The module's own options and each provider's config in one error.
        'maxFileSize: must be a size such as 104857600, "100MB" or "2GB"',
        expect.stringMatching(/^providers\.d\.type: unknown provider type "constructor"/),
        'providers.a.config.base_path: must be a string',
        'providers.b.config.surprise: is not a known option',
        'providers.b.config.fsync_interval: must be a size such as 104857600, "100MB" or "2GB"',
        'providers.b.config.write_buffer: must be a size such as 104857600, "100MB" or "2GB"',
        expect.stringMatching(/^providers\.c\.type: unknown provider type "nope" \(known: local, memory/),
      ]),
    );
  });

  it('reports in the same error what providers and the sweeper would only find when they start', async () => {
    const error = await bootError(sqlite, {
      defaultProvider: 'local',
      providers: {
        local: {
          type: 'local',
          fallbacks: ['local'],
          config: { base_path: `${dir.path}/never-created`, signing_keys: { k1: 'short' }, encryption: { master_keys: { k1: 'not-a-key' } } },
        },
        other: { type: 'nosuchtype' },
      },
      cleanup: { cron: 'not a cron' },
    });
    expect(error.problems).toEqual(expect.arrayContaining(FIVE_PROBLEMS));
    expect(error.problems).toHaveLength(FIVE_PROBLEMS.length);
    // Refused before any provider started: the local provider created no folder.
    await expect(access(`${dir.path}/never-created`)).rejects.toThrow();
  });

  it('checks the signing keys of a custom type built on SelfServedConfig at boot too', async () => {
    class ShelfConfig extends SelfServedConfig {
      @IsString() shelf!: string;
    }
    @StorageProviderType('shelf', { config: ShelfConfig })
    class ShelfProvider extends MemoryStorageProvider {}
    const error = await bootError(sqlite, {
      defaultProvider: 's',
      providers: { s: { type: 'shelf', config: { shelf: 'top', signing_keys: { old: 'too short' } } } },
      providerTypes: [ShelfProvider],
    } as StorageModuleOptions);
    expect(error.problems).toEqual(['providers.s.config.signing_keys.old: must be a secret of at least 16 characters']);
  });

  it('refuses a custom type registered under the name of a built-in one', async () => {
    @StorageProviderType('memory')
    class MyMemory extends MemoryStorageProvider {}
    const error = await bootError(sqlite, { defaultProvider: 'm', providers: { m: { type: 'memory' } }, providerTypes: [MyMemory] } as StorageModuleOptions);
    expect(error.problems).toEqual(['providerTypes: MyMemory is registered as "memory", the name of a built-in type; give it a name of its own']);
  });

  it('names the package to install when a provider type cannot load its SDK', async () => {
    const { BUILT_IN_PROVIDER_TYPES } = await import('@app/storage');
    BUILT_IN_PROVIDER_TYPES['fake-cloud'] = {
      load: () => import('@example/not-installed-sdk' as string),
      packages: ['@example/not-installed-sdk'],
    };
    try {
      const error = await bootError(sqlite, { defaultProvider: 'x', providers: { x: { type: 'fake-cloud' } } });
      expect(error.problems).toEqual([
        'providers.x.type: the "fake-cloud" provider needs @example/not-installed-sdk; install with: npm install @example/not-installed-sdk',
      ]);
    } finally {
      delete BUILT_IN_PROVIDER_TYPES['fake-cloud'];
    }
  });

  it('boots from the shipped storage.yaml', async () => {
    const options = loadStorageConfig('config/storage.yaml', { STORAGE_LOCAL_PATH: `${dir.path}/yaml-root` });
    const moduleRef = await Test.createTestingModule({ imports: [typeorm(sqlite), StorageModule.forRoot({ ...options, route: false })] }).compile();
    const storage = moduleRef.get(StorageService);
    expect(storage.maxSizeFor('video')).toBe(1024 ** 3);
    expect(storage.maxSizeFor('image')).toBe(100 * 1024 ** 2);
    await moduleRef.close();
  });
});

describe.each(DATABASE_KINDS)('registry schema on %s', (kind) => {
  it('comes from migrations and matches the entities exactly (no pending schema change)', async () => {
    const dir = await tempDir();
    const database = await databaseUrlFor(kind, dir.path);
    try {
      const moduleRef = await Test.createTestingModule({ imports: [typeorm(database.url)] }).compile();
      const dataSource = moduleRef.get<DataSource>(getDataSourceToken());
      expect((await dataSource.query('SELECT count(*) AS n FROM migrations'))[0].n).toEqual(kind === 'postgres' ? String(STORAGE_MIGRATIONS.length) : STORAGE_MIGRATIONS.length);
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
      // And the migrations revert cleanly.
      for (let i = 0; i < STORAGE_MIGRATIONS.length; i++) await dataSource.undoLastMigration();
      expect(await dataSource.createQueryRunner().hasTable('storage_artifacts')).toBe(false);
      await moduleRef.close();
    } finally {
      await database.drop();
      await dir.remove();
    }
  });
});
