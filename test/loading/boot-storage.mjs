// Boots StorageModule in a fresh process with the providers given in BOOT_PROVIDERS (JSON), then
// prints one `RESULT {json}` line: whether boot succeeded (or the error), and every CommonJS
// module in the require cache. The hooks record ESM resolutions to RECORD_FILE.
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
register('./loader-hooks.mjs', import.meta.url, {
  data: {
    record: process.env.RECORD_FILE,
    block: JSON.parse(process.env.BLOCK_PACKAGES ?? '[]'),
    libraryIndex: `${root}libs/storage/src/index.ts`,
    cache: process.env.TRANSPILE_CACHE,
  },
});

let result;
try {
  await import('reflect-metadata');
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { TypeOrmModule } = await import('@nestjs/typeorm');
  const { STORAGE_ENTITIES, STORAGE_MIGRATIONS, StorageModule } = await import('@app/storage');
  const providers = JSON.parse(process.env.BOOT_PROVIDERS);
  class BootModule {}
  Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: STORAGE_ENTITIES, migrations: STORAGE_MIGRATIONS, migrationsRun: true }),
      StorageModule.forRoot({ defaultProvider: Object.keys(providers)[0], providers }),
    ],
  })(BootModule);
  const app = await NestFactory.createApplicationContext(BootModule, { logger: false, abortOnError: false });
  await app.close();
  result = { ok: true };
} catch (error) {
  result = { ok: false, name: error?.name, code: error?.code, message: String(error?.message ?? error) };
}
result.commonjs = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
