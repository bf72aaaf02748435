import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '@app/storage';
import { AdvisorySweepLock, LeaseSweepLock, RedisSweepLock } from '@app/storage/cleanup';
import { databaseUrlFor } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';
import { startReplica, type Replica } from './cleanup-support.js';

const HOUR = 3600_000;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const common = { artifactType: 'image', contentType: 'application/octet-stream', boardId: 'b1' };

describe('cleanup schedule (SchedulerRegistry, from configuration)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let replica: Replica | undefined;
  beforeAll(async () => {
    dir = await tempDir('boards-schedule-');
  });
  afterEach(async () => {
    vi.useRealTimers();
    await replica?.close();
    replica = undefined;
  });
  afterAll(async () => {
    await dir.remove();
  });

  const boot = (cleanup: Parameters<typeof startReplica>[0]['cleanup']) =>
    startReplica({ databaseUrl: `sqlite:${dir.path}/${randomBytes(4).toString('hex')}.sqlite`, root: `${dir.path}/storage`, cleanup });

  it('registers an interval of cleanup_interval_hours and sweeps on each tick', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    replica = await boot({ cleanupIntervalHours: 2 });
    expect(replica.scheduler.getIntervals()).toContain('boards-storage-cleanup');
    const sweep = vi.spyOn(replica.cleanup, 'sweep');
    vi.advanceTimersByTime(2 * HOUR - 1);
    expect(sweep).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(sweep).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2 * HOUR);
    expect(sweep).toHaveBeenCalledTimes(2);
    await vi.waitFor(() => expect(sweep.mock.results.every((r) => r.type === 'return')).toBe(true));
    await Promise.all(sweep.mock.results.map((r) => r.value));
  });

  it('registers a cron job when cleanup.cron is set, and its tick sweeps', async () => {
    replica = await boot({ cron: '15 */6 * * *' });
    const job = replica.scheduler.getCronJob('boards-storage-cleanup');
    expect(job.cronTime.source).toBe('15 */6 * * *');
    expect(replica.scheduler.getIntervals()).toEqual([]);
    const next = job.nextDate();
    expect(next.minute).toBe(15);
    expect(next.hour % 6).toBe(0);
    const sweep = vi.spyOn(replica.cleanup, 'sweep');
    await job.fireOnTick();
    expect(sweep).toHaveBeenCalledTimes(1);
    await sweep.mock.results[0].value;
  });

  it('schedules nothing with cleanup.enabled: false, and sweep() still works when called (a worker, a tool)', async () => {
    replica = await boot({ enabled: false });
    expect(replica.scheduler.getIntervals()).toEqual([]);
    expect([...replica.scheduler.getCronJobs().keys()]).toEqual([]);
    const temp = await replica.storage.storeTemporary({ ...common, body: Buffer.from('t'), ttlHours: 1 });
    const report = await replica.cleanup.sweep(new Date(Date.now() + 2 * HOUR));
    expect(report).toMatchObject({ ran: true, expired: [temp.id], purged: [temp.id] });
  });

  it('refuses an invalid cron expression at boot, naming the key', async () => {
    await expect(boot({ cron: 'every full moon' })).rejects.toThrow(/cleanup\.cron "every full moon" is not a valid cron expression/);
  });

  it('refuses an advisory lock on SQLite and a Redis lock without a URL', async () => {
    await expect(boot({ lock: 'advisory' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(boot({ lock: 'redis' })).rejects.toThrow(/cleanup\.redis_url/);
  });
});

describe.each(['sqlite', 'postgres'] as const)('lease row lock on %s', (kind) => {
  let replica: Replica;
  let done: () => Promise<void>;
  beforeAll(async () => {
    const dir = await tempDir('boards-lease-');
    const db = await databaseUrlFor(kind, dir.path);
    replica = await startReplica({ databaseUrl: db.url, root: `${dir.path}/storage`, cleanup: { enabled: false } });
    done = async () => {
      await replica.close();
      await db.drop();
      await dir.remove();
    };
  });
  afterAll(() => done?.());
  afterEach(() => vi.useRealTimers());

  it('is held by one holder at a time, and taken over once it expires unrenewed', async () => {
    const dataSource = replica.registry.dataSource;
    const first = new LeaseSweepLock(dataSource, 'lease-test', 60_000);
    const second = new LeaseSweepLock(dataSource, 'lease-test', 60_000);
    const held = await first.tryAcquire();
    expect(held).not.toBeNull();
    expect(await second.tryAcquire()).toBeNull();
    await held!.release();
    const taken = await second.tryAcquire();
    expect(taken).not.toBeNull();
    // The holder "dies" (stops renewing): after the TTL another instance takes the lease.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const third = new LeaseSweepLock(dataSource, 'lease-test', 60_000);
    const takenOver = await third.tryAcquire();
    expect(takenOver).not.toBeNull();
    await taken!.release(); // the stale holder's release removes nothing of the new holder's
    expect(await new LeaseSweepLock(dataSource, 'lease-test', 60_000).tryAcquire()).toBeNull();
    await takenOver!.release();
  });
});

describe('PostgreSQL advisory lock', () => {
  it('is held by one session at a time and released with its connection', async () => {
    const dir = await tempDir('boards-advisory-');
    const db = await databaseUrlFor('postgres', dir.path);
    const a = await startReplica({ databaseUrl: db.url, root: `${dir.path}/storage`, cleanup: { enabled: false } });
    const b = await startReplica({ databaseUrl: db.url, root: `${dir.path}/storage`, cleanup: { enabled: false } });
    try {
      const name = `advisory-${randomBytes(4).toString('hex')}`;
      const lockA = new AdvisorySweepLock(a.registry.dataSource, name);
      const lockB = new AdvisorySweepLock(b.registry.dataSource, name);
      const held = await lockA.tryAcquire();
      expect(held).not.toBeNull();
      expect(await lockB.tryAcquire()).toBeNull();
      await held!.release();
      const next = await lockB.tryAcquire();
      expect(next).not.toBeNull();
      await next!.release();
    } finally {
      await a.close();
      await b.close();
      await db.drop();
      await dir.remove();
    }
  });
});

describe('Redis lock (cleanup.lock: redis)', () => {
  it('is held by one client at a time, expires unrenewed, and only its holder releases it', async () => {
    const key = `boards-test-lock-${randomBytes(4).toString('hex')}`;
    const a = await RedisSweepLock.connect(REDIS_URL, key, 60_000);
    const b = await RedisSweepLock.connect(REDIS_URL, key, 60_000);
    const shortKey = `${key}-short`;
    const c = await RedisSweepLock.connect(REDIS_URL, shortKey, 100);
    const d = await RedisSweepLock.connect(REDIS_URL, shortKey, 100);
    try {
      const held = await a.tryAcquire();
      expect(held).not.toBeNull();
      expect(await b.tryAcquire()).toBeNull();
      await held!.release();
      const next = await b.tryAcquire();
      expect(next).not.toBeNull();
      await next!.release();

      const lapsing = await c.tryAcquire();
      expect(lapsing).not.toBeNull();
      await sleep(300); // the Redis TTL (100 ms) passes; the renewal (every ≥ 1 s) has not run
      const takeover = await d.tryAcquire();
      expect(takeover).not.toBeNull();
      await lapsing!.release(); // compare-and-delete: the old holder cannot remove the new holder's key
      expect(await c.tryAcquire()).toBeNull();
      await takeover!.release();
    } finally {
      await Promise.all([a, b, c, d].map((lock) => lock.close()));
    }
  });

  it('elects one of two replicas through Redis', async () => {
    const dir = await tempDir('boards-redis-');
    const cleanup = { lock: 'redis' as const, redisUrl: REDIS_URL };
    const a = await startReplica({ databaseUrl: `sqlite:${dir.path}/db.sqlite`, root: `${dir.path}/storage`, cleanup });
    const b = await startReplica({ databaseUrl: `sqlite:${dir.path}/db.sqlite`, root: `${dir.path}/storage`, cleanup });
    try {
      expect(a.cleanup.lockKind).toBe('redis');
      const temp = await a.storage.storeTemporary({ ...common, body: Buffer.from('t'), ttlHours: 1 });
      a.local.hang(Number.POSITIVE_INFINITY, ['delete']);
      const first = a.cleanup.sweep(new Date(Date.now() + 2 * HOUR));
      await vi.waitFor(() => expect(a.local.count('delete')).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
      expect((await b.cleanup.sweep(new Date(Date.now() + 2 * HOUR))).ran).toBe(false);
      a.local.heal();
      expect(await first).toMatchObject({ ran: true, lock: 'redis', purged: [temp.id] });
      expect((await b.cleanup.sweep(new Date(Date.now() + 2 * HOUR))).ran).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await dir.remove();
    }
  });
});
