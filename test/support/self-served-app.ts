import { Module, type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  STORAGE_ENTITIES,
  STORAGE_MIGRATIONS,
  StorageExceptionFilter,
  StorageModule,
  StorageProviderRegistry,
  type StorageModuleOptions,
  type StorageProvider,
  type StorageProviderClass,
} from '@app/storage';

export interface SelfServedAppOptions {
  storage: StorageModuleOptions;
  /** Custom provider types (`StorageModule.forRoot({ providerTypes })`). */
  providerTypes?: StorageProviderClass[];
  /** Modules the app imports besides storage and TypeORM (services custom types inject). */
  imports?: Array<Type | DynamicModule | Promise<DynamicModule> | ForwardReference>;
}

export interface SelfServedApp {
  app: NestExpressApplication;
  /** Origin of the listening app, e.g. `http://127.0.0.1:41234`. */
  url: string;
  provider: (name: string) => StorageProvider;
  close: () => Promise<void>;
}

/**
 * A minimal Nest app around StorageModule (registry on in-memory SQLite), listening on port 0 so
 * its SignedUrlController answers the presigned URLs of self-served providers.
 */
export async function startSelfServedApp(options: SelfServedAppOptions): Promise<SelfServedApp> {
  @Module({
    imports: [
      ...(options.imports ?? []),
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: STORAGE_ENTITIES,
        migrations: STORAGE_MIGRATIONS,
        migrationsRun: true,
        synchronize: false,
      }),
      StorageModule.forRoot({ ...options.storage, providerTypes: options.providerTypes ?? [] }),
    ],
  })
  class SelfServedTestModule {}

  // The signed-URL route streams raw bodies: no body parser may drain them first.
  // abortOnError off: a boot failure rejects (and fails the suite's setup) instead of killing the worker.
  const app = await NestFactory.create<NestExpressApplication>(SelfServedTestModule, {
    bodyParser: false,
    logger: ['error'],
    abortOnError: false,
  });
  app.useGlobalFilters(new StorageExceptionFilter());
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const registry = app.get(StorageProviderRegistry);
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    provider: (name) => registry.get(name),
    close: () => app.close(),
  };
}
