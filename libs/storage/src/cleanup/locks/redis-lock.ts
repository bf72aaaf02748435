import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ConfigurationError } from '../../errors/index.js';
import { renewEvery, type SweepLock, type SweepLockHandle } from './sweep-lock.js';

/** The subset of an ioredis client the lock uses (so tests can hand in their own). */
export interface RedisLockClient {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<'OK' | null>;
  eval(script: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

// Compare-and-act scripts: only the holder (its random token) may renew or delete the key.
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A single-instance Redis lock: `SET key token NX PX ttl`, renewed while held, deleted with a
 * compare-and-delete script. The ioredis package is loaded only when this lock is configured.
 */
export class RedisSweepLock implements SweepLock {
  readonly kind = 'redis';
  private readonly logger = new Logger('StorageCleanupRedisLock');

  constructor(
    private readonly client: RedisLockClient,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  static async connect(url: string, key: string, ttlMs: number): Promise<RedisSweepLock> {
    let Redis: new (url: string, options: object) => RedisLockClient & { connect(): Promise<void> };
    try {
      ({ Redis } = (await import('ioredis')) as unknown as { Redis: typeof Redis });
    } catch (error) {
      throw new ConfigurationError('cleanup.lock "redis" needs the ioredis package: npm install ioredis', [], { cause: error });
    }
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
    await client.connect();
    return new RedisSweepLock(client, key, ttlMs);
  }

  async tryAcquire(): Promise<SweepLockHandle | null> {
    const token = randomUUID();
    const acquired = await this.client.set(this.key, token, 'PX', this.ttlMs, 'NX');
    if (acquired !== 'OK') return null;
    const stop = renewEvery(
      Math.max(1000, Math.floor(this.ttlMs / 3)),
      async () => {
        const renewed = await this.client.eval(RENEW, 1, this.key, token, this.ttlMs);
        if (Number(renewed) !== 1) this.logger.warn('cleanup lock lost (expired before renewal)', { key: this.key });
      },
      (error) => this.logger.warn('could not renew the cleanup lock', { key: this.key, error: String(error) }),
    );
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        stop();
        await this.client.eval(RELEASE, 1, this.key, token);
      },
    };
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => undefined);
  }
}
