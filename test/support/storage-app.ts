import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { STORAGE_ENTITIES, STORAGE_MIGRATIONS, StorageModule } from '@app/storage';
import { databaseOptions } from '../../src/database/database-options.js';

/** A Nest testing module with TypeORM (from a DATABASE_URL) and the given StorageModule. */
export async function createStorageTestingModule(databaseUrl: string, storage: DynamicModule, extraProviders: unknown[] = []) {
  const moduleRef = await Test.createTestingModule({
    imports: [TypeOrmModule.forRoot({ ...databaseOptions(databaseUrl), entities: [...STORAGE_ENTITIES], migrations: [...STORAGE_MIGRATIONS] }), storage],
    providers: extraProviders as never[],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

/** A service custom provider types can inject (proves DI reaches them). */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
