import type { DataSource } from 'typeorm';
import type { ResolvedStorageOptions } from '../../config/index.js';
import { ConfigurationError } from '../../errors/index.js';
import { REDIS_URL_MISSING } from '../cleanup-checks.js';
import { AdvisorySweepLock } from './advisory-lock.js';
import { LeaseSweepLock } from './lease-lock.js';
import { RedisSweepLock } from './redis-lock.js';
import { NoSweepLock, type SweepLock } from './sweep-lock.js';

export * from './sweep-lock.js';
export { AdvisorySweepLock, advisoryKey } from './advisory-lock.js';
export { LeaseSweepLock } from './lease-lock.js';
export { RedisSweepLock, type RedisLockClient } from './redis-lock.js';
export { StorageLease } from './storage-lease.entity.js';

/** The lock `cleanup.lock` asks for; `auto` is an advisory lock on PostgreSQL, a lease row elsewhere. */
export async function createSweepLock(
  cleanup: ResolvedStorageOptions['cleanup'],
  dataSource: DataSource,
  name: string,
): Promise<SweepLock> {
  const postgres = dataSource.options.type === 'postgres';
  const ttlMs = cleanup.lockTtlSeconds * 1000;
  switch (cleanup.lock) {
    case 'none':
      return new NoSweepLock();
    case 'redis':
      if (!cleanup.redisUrl) throw new ConfigurationError(REDIS_URL_MISSING);
      return RedisSweepLock.connect(cleanup.redisUrl, name, ttlMs);
    case 'advisory':
      if (!postgres) throw new ConfigurationError(`cleanup.lock "advisory" needs PostgreSQL (the registry is on ${dataSource.options.type})`);
      return new AdvisorySweepLock(dataSource, name);
    case 'lease':
      return new LeaseSweepLock(dataSource, name, ttlMs);
    default:
      return postgres ? new AdvisorySweepLock(dataSource, name) : new LeaseSweepLock(dataSource, name, ttlMs);
  }
}
