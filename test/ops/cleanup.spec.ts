import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, readAll, type StoredArtifact } from '@app/storage';
import { DATABASE_KINDS, databaseUrlFor } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';
import { serviceKey, startReplica, touch, type Replica } from './cleanup-support.js';

const HOUR = 3600_000;
const common = { artifactType: 'image', contentType: 'application/octet-stream', boardId: 'b1' };

describe.each(DATABASE_KINDS)('cleanup: two replicas on one %s database and one storage root', (kind) => {
  let a: Replica;
  let b: Replica;
  let root: string;
  let dbUrl: string;
  let done: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir('boards-cleanup-');
    root = `${dir.path}/storage`;
    const db = await databaseUrlFor(kind, dir.path);
    dbUrl = db.url;
    // One after the other: the second finds the migrations already run.
    a = await startReplica({ databaseUrl: db.url, root });
    b = await startReplica({ databaseUrl: db.url, root });
    done = async () => {
      await a?.close();
      await b?.close();
      await db.drop();
      await dir.remove();
    };
  });
  afterAll(async () => {
    await done?.();
  });
  afterEach(() => {
    vi.useRealTimers();
    a.local.heal();
    b.local.heal();
  });

  /** Fakes the clock from now on (after boot: TypeORM checks column types against the real Date). */
  function fakeClock(toFake: ('Date' | 'setInterval' | 'clearInterval')[] = ['Date']) {
    vi.useFakeTimers({ toFake, now: Date.now() });
  }

  const exists = (key: string) => a.local.inner.exists(key);

  /** A row's updated_at in ms, read raw (entity hydration compares column types with the global Date, which is faked here). */
  async function updatedAtOf(id: string): Promise<number> {
    const raw = await a.registry.repository.createQueryBuilder('a').select('a.updated_at', 'at').where('a.id = :id', { id }).getRawOne();
    const at = raw?.at as Date | string;
    return typeof at === 'string' ? Date.parse(`${at.replace(' ', 'T')}Z`) : at.getTime();
  }

  it(`elects one sweeper (${kind === 'postgres' ? 'advisory lock' : 'lease row'}): the other replica skips while it sweeps`, async () => {
    expect(a.cleanup.lockKind).toBe(kind === 'postgres' ? 'advisory' : 'lease');
    const temp = await a.storage.storeTemporary({ ...common, body: Buffer.from('short-lived'), ttlHours: 1 });
    fakeClock();
    vi.setSystemTime(Date.now() + 2 * HOUR);
    a.local.hang(Number.POSITIVE_INFINITY, ['delete']); // replica A's sweep stalls on its first delete
    const first = a.cleanup.sweep();
    await vi.waitFor(() => expect(a.local.count('delete')).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    const second = await b.cleanup.sweep();
    expect(second.ran).toBe(false);
    expect(b.local.count('delete')).toBe(0);
    a.local.heal();
    const report = await first;
    expect(report).toMatchObject({ ran: true, expired: [temp.id], purged: [temp.id], failed: [] });
    expect(await exists(temp.storageKey)).toBe(false);
    // The lock is free again, and nothing is left to sweep: nothing is swept twice.
    const again = await b.cleanup.sweep();
    expect(again).toMatchObject({ ran: true, expired: [], purged: [], abandoned: [], orphans: [] });
  });

  it('sweeps expired temp artifacts, leftover bytes of deleted records, abandoned uploads and old orphans, once', async () => {
    const t0 = Date.now();
    const expired = await a.storage.storeTemporary({ ...common, body: Buffer.from('expired'), ttlHours: 1 });
    const longLived = await a.storage.storeTemporary({ ...common, body: Buffer.from('kept'), ttlHours: 48 });
    const permanent = await b.storage.storeArtifact({ ...common, body: Buffer.from('permanent') });
    const deleted = await a.storage.storeArtifact({ ...common, body: Buffer.from('deleted, bytes stuck') });
    a.local.failNext(2, ['delete']); // every attempt of the delete fails: the bytes stay
    await a.storage.deleteArtifact(deleted.id);
    expect(await exists(deleted.storageKey)).toBe(true);
    // A crashed upload: its pending row and the bytes it had written.
    const abandonedKey = serviceKey('t1', 'crashed1');
    await a.registry.createPending({ id: 'crashed1', tenant: 't1', boardId: 'b1', artifactType: 'image', variant: 'original', storageKey: abandonedKey, provider: 'local', contentType: 'image/png' });
    await a.local.inner.put(abandonedKey, Buffer.from('half an upload'), { contentType: 'image/png' });
    // Objects no record names: one old, one fresh, and a foreign key that is not ours to touch.
    const oldOrphan = serviceKey('t1', 'orphan1');
    const youngOrphan = serviceKey('t1', 'orphan2');
    for (const key of [oldOrphan, youngOrphan, 'foreign/notes.txt']) await a.local.inner.put(key, Buffer.from('?'), { contentType: 'text/plain' });

    fakeClock();
    vi.setSystemTime(t0 + 25 * HOUR);
    await touch(root, youngOrphan, new Date()); // written "just now" by the fake clock's measure
    // An upload in flight right now: its pending row is young, its bytes not yet complete.
    const body = new PassThrough();
    const inFlight = b.storage.storeArtifact({ ...common, artifactId: 'inflight1', body });
    body.write('first half, ');
    await vi.waitFor(async () => expect((await a.registry.findById('inflight1'))?.status).toBe('pending'), { interval: 20 });

    const report = await b.cleanup.sweep();
    expect(report.ran).toBe(true);
    expect(report.expired).toEqual([expired.id]);
    expect(report.purged?.sort()).toEqual([expired.id, deleted.id].sort());
    expect(report.abandoned).toEqual(['crashed1']);
    expect(report.orphans).toEqual([{ provider: 'local', key: oldOrphan }]);
    expect(report.failed).toEqual([]);

    for (const key of [expired.storageKey, deleted.storageKey, abandonedKey, oldOrphan]) expect(await exists(key)).toBe(false);
    for (const key of [longLived.storageKey, permanent.storageKey, youngOrphan, 'foreign/notes.txt']) expect(await exists(key)).toBe(true);
    for (const id of [expired.id, deleted.id, 'crashed1']) expect(await a.registry.findById(id)).toBeNull();
    expect((await a.registry.findById(longLived.id))?.status).toBe('ready');

    // The upload in flight was not touched and completes.
    body.end('second half');
    const stored = (await inFlight) as StoredArtifact;
    expect(stored.status).toBe('ready');
    expect((await readAll((await a.storage.openArtifact(stored.id)).body)).toString()).toBe('first half, second half');

    // Another sweep, from the other replica, finds nothing: nothing is swept twice.
    const again = await a.cleanup.sweep();
    expect(again).toMatchObject({ ran: true, expired: [], purged: [], abandoned: [], orphans: [], failed: [] });
    // Deletes that reached the shared root, per key, across both replicas: one each for what the sweep took.
    const deletes = [...a.local.calls, ...b.local.calls].filter((call) => call.op === 'delete').map((call) => call.key);
    for (const key of [expired.storageKey, abandonedKey, oldOrphan]) expect(deletes.filter((k) => k === key)).toHaveLength(1);
  });

  it('takes no object recorded under another provider name that shares the root', async () => {
    // A second replica whose configuration names the same root twice: "local" and "alias".
    const shared = await startReplica({
      databaseUrl: dbUrl,
      root,
      cleanup: { orphanGraceHours: 0 },
      storage: {
        providers: {
          local: { type: 'faulty', config: { inner: 'local', inner_config: { base_path: root } } },
          alias: { type: 'local', config: { base_path: root } },
        },
      },
    });
    try {
      const stored = await a.storage.storeArtifact({ ...common, body: Buffer.from('recorded under local') });
      await new Promise((resolve) => setTimeout(resolve, 1100)); // older than the zero grace, by mtime's second
      const report = await shared.cleanup.sweep();
      expect((report.orphans ?? []).map((orphan) => orphan.key)).not.toContain(stored.storageKey);
      expect(await exists(stored.storageKey)).toBe(true);
    } finally {
      await shared.close();
    }
  });

  it('keeps a slow upload alive: its heartbeat refreshes the pending row past the deadline', async () => {
    fakeClock(['Date', 'setInterval', 'clearInterval']);
    const body = new PassThrough();
    const upload = a.storage.storeArtifact({ ...common, artifactId: 'slow1', body });
    body.write('still coming');
    await vi.waitFor(async () => expect(await a.registry.findById('slow1')).not.toBeNull(), { interval: 20 });
    const started = Date.now();
    await vi.advanceTimersByTimeAsync(90 * 60_000); // 1.5 x pending_timeout_minutes
    // The heartbeat's writes go through the database on their own time: wait until the row shows them.
    await vi.waitFor(async () => expect(await updatedAtOf('slow1')).toBeGreaterThan(started + 60 * 60_000), { interval: 20 });
    const report = await b.cleanup.sweep();
    expect(report.abandoned).toEqual([]);
    body.end('... done');
    expect((await upload).status).toBe('ready');
  });

  it('removes a job scope\'s temporary artifacts when it completes or fails, without waiting for the TTL', async () => {
    const job = a.storage.jobScope('job-42');
    const mask = await job.store({ ...common, body: Buffer.from('mask') });
    const depth = await job.store({ ...common, body: Buffer.from('depth map') });
    expect(mask).toMatchObject({ jobId: 'job-42', status: 'ready' });
    expect(mask.storageKey).toMatch(/^temp\//);
    expect(mask.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 23 * HOUR);
    expect((await job.artifacts()).map((x) => x.id).sort()).toEqual([mask.id, depth.id].sort());
    expect(await job.complete()).toBe(2);
    for (const artifact of [mask, depth]) {
      expect(await exists(artifact.storageKey)).toBe(false);
      expect((await a.registry.findById(artifact.id))?.status).toBe('deleted');
    }
    await expect(job.store({ ...common, body: Buffer.from('late') })).rejects.toBeInstanceOf(InvalidArgumentError);

    const failing = b.storage.jobScope('job-43');
    let kept: StoredArtifact | undefined;
    await expect(
      failing.run(async (scope) => {
        kept = await scope.store({ ...common, body: Buffer.from('intermediate') });
        throw new Error('generation failed');
      }),
    ).rejects.toThrow('generation failed');
    expect(failing.outcome).toBe('failed');
    expect(await failing.artifacts()).toEqual([]);
    expect(await exists(kept!.storageKey)).toBe(false);
    // The sweep then drops the deleted records.
    const report = await a.cleanup.sweep();
    expect(report.purged).toEqual(expect.arrayContaining([mask.id, depth.id, kept!.id]));
  });
});

describe('cleanup without a lock on PostgreSQL: rows claimed with SKIP LOCKED', () => {
  it('two concurrent sweeps split the work; every row and every object is handled exactly once', async () => {
    const dir = await tempDir('boards-cleanup-');
    const db = await databaseUrlFor('postgres', dir.path);
    const cleanup = { lock: 'none' as const, maxCleanupBatchSize: 4 };
    const a = await startReplica({ databaseUrl: db.url, root: `${dir.path}/storage`, cleanup });
    const b = await startReplica({ databaseUrl: db.url, root: `${dir.path}/storage`, cleanup });
    try {
      const stored: StoredArtifact[] = [];
      for (let i = 0; i < 24; i++) stored.push(await (i % 2 ? a : b).storage.storeTemporary({ ...common, body: Buffer.from(`temp ${i}`), ttlHours: 1 }));
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * HOUR });
      const [ra, rb] = await Promise.all([a.cleanup.sweep(), b.cleanup.sweep()]);
      expect(ra.ran && rb.ran).toBe(true);
      const ids = stored.map((s) => s.id).sort();
      expect([...ra.expired!, ...rb.expired!].sort()).toEqual(ids);
      expect([...ra.purged!, ...rb.purged!].sort()).toEqual(ids);
      const deletes = [...a.local.calls, ...b.local.calls].filter((call) => call.op === 'delete').map((call) => call.key!);
      expect(deletes.sort()).toEqual(stored.map((s) => s.storageKey).sort());
      // eslint-disable-next-line no-console
      console.log(`[cleanup] concurrent sweeps without a lock: replica A took ${ra.purged!.length}, replica B ${rb.purged!.length} of ${ids.length}`);
    } finally {
      vi.useRealTimers();
      await a.close();
      await b.close();
      await db.drop();
      await dir.remove();
    }
  });
});
