import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { STORAGE_ENTITIES, STORAGE_MIGRATIONS } from '@app/storage';
import type { DataSourceOptions } from 'typeorm';

/**
 * TypeORM options from DATABASE_URL: `postgres://` / `postgresql://` for PostgreSQL, `sqlite:<file>`
 * (or `sqlite::memory:`) for the embedded default. Schema comes from migrations, never synchronize.
 */
export function databaseOptions(url: string): DataSourceOptions {
  const common = {
    entities: [...STORAGE_ENTITIES],
    migrations: [...STORAGE_MIGRATIONS],
    migrationsRun: true,
    synchronize: false,
    logging: false,
  };
  if (/^postgres(ql)?:\/\//.test(url)) {
    return { type: 'postgres', url, ...common };
  }
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  return { type: 'better-sqlite3', database: file, ...common };
}
