import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { ObjectNotFoundError, ProviderUnavailableError, TimeoutError, type StorageProvider } from '@app/storage';
import type { ConformanceRun } from '../suite.js';
import { bytesOf } from '../support.js';

async function textOf(provider: StorageProvider, key: string): Promise<string> {
  return (await bytesOf((await provider.get(key)).body)).toString('utf8');
}

/** Every key under a prefix, following cursors (bounded, so a cursor loop fails instead of hanging). */
async function listAll(provider: StorageProvider, prefix: string, limit?: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 200; page++) {
    const result = await provider.list({ prefix, cursor, limit });
    keys.push(...result.items.map((item) => item.key));
    cursor = result.cursor;
    if (!cursor) return keys;
  }
  throw new Error(`listing ${prefix} did not end after 200 pages`);
}

export function defineObjectCases(run: ConformanceRun): void {
  run.case('exists and head answer for present and missing keys', {}, async (_env, provider) => {
    const key = run.key('objects', 'present.txt');
    const before = Date.now();
    await provider.put(key, Buffer.from('here'), { contentType: 'text/plain' });
    expect(await provider.exists(key)).toBe(true);
    const info = await provider.head(key);
    expect(info).toMatchObject({ key, size: 4, contentType: 'text/plain' });
    expect(info.lastModified).toBeInstanceOf(Date);
    // Servers keep second precision; allow clock skew between this process and the backend.
    expect(info.lastModified.getTime()).toBeGreaterThan(before - 120_000);

    const missing = run.key('objects', 'missing.txt');
    expect(await provider.exists(missing)).toBe(false);
    await expect(provider.head(missing)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(provider.get(missing)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  run.case('delete removes an object, and deleting a missing key is not an error', {}, async (_env, provider) => {
    const key = run.key('objects', 'deleted.txt');
    await provider.put(key, Buffer.from('bye'), { contentType: 'text/plain' });
    await provider.delete(key);
    expect(await provider.exists(key)).toBe(false);
    await expect(provider.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(provider.delete(key)).resolves.toBeUndefined();
    await expect(provider.delete(run.key('objects', 'never-existed.txt'))).resolves.toBeUndefined();
  });

  run.case('copy duplicates bytes, content type and metadata, and leaves the source', { needs: ['copy'] }, async (_env, provider) => {
    const source = run.key('objects', 'copy-source.txt');
    const destination = run.key('objects', 'copy', 'destination.txt');
    const metadata = provider.capabilities.userMetadata === true ? { origin: 'copied' } : undefined;
    await provider.put(source, Buffer.from('copied bytes'), { contentType: 'text/markdown', metadata });
    await provider.copy(source, destination);
    expect(await textOf(provider, destination)).toBe('copied bytes');
    const info = await provider.head(destination);
    expect(info.contentType).toBe('text/markdown');
    if (metadata) expect(info.metadata).toEqual(metadata);
    expect(await textOf(provider, source)).toBe('copied bytes');

    // Copying onto an existing object replaces it.
    await provider.put(source, Buffer.from('second version'), { contentType: 'text/plain' });
    await provider.copy(source, destination);
    expect(await textOf(provider, destination)).toBe('second version');
    await expect(provider.copy(run.key('objects', 'no-such-source'), destination)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  run.case('move relocates an object', { needs: ['copy'] }, async (_env, provider) => {
    const source = run.key('objects', 'move-source.txt');
    const destination = run.key('objects', 'moved', 'here.txt');
    await provider.put(source, Buffer.from('moving'), { contentType: 'text/plain' });
    await provider.move(source, destination);
    expect(await provider.exists(source)).toBe(false);
    expect(await textOf(provider, destination)).toBe('moving');
    expect((await provider.head(destination)).contentType).toBe('text/plain');
    // Onto itself: nothing changes (a copy then a delete would lose it).
    await provider.move(destination, destination);
    expect(await textOf(provider, destination)).toBe('moving');
    await expect(provider.move(source, source)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  run.case('list returns exactly the objects under a prefix', { needs: ['list'] }, async (_env, provider) => {
    const base = run.key('list', 'prefix');
    const inside = [`${base}/a.txt`, `${base}/b/c.txt`, `${base}/b/d.txt`];
    const outside = [`${base}-sibling.txt`, run.key('list', 'other', 'e.txt')];
    for (const key of [...inside, ...outside]) await provider.put(key, Buffer.from(key), { contentType: 'text/plain' });

    const page = await provider.list({ prefix: `${base}/` });
    expect(page.items.map((item) => item.key).sort()).toEqual([...inside].sort());
    expect(page.cursor).toBeUndefined();
    const first = page.items.find((item) => item.key === inside[0])!;
    expect(first.size).toBe(Buffer.byteLength(inside[0]));

    expect((await listAll(provider, `${base}/b/`)).sort()).toEqual(inside.slice(1).sort());
    expect(await listAll(provider, run.key('list', 'nothing-here/'))).toEqual([]);
  });

  run.case('pagination neither skips nor repeats keys while keys are added', { needs: ['list'] }, async (_env, provider) => {
    const base = run.key('list', 'paged');
    const name = (n: number) => `${base}/k${String(n).padStart(2, '0')}`;
    const original = [0, 2, 4, 6, 8, 10, 12].map(name);
    for (const key of original) await provider.put(key, Buffer.from('x'), { contentType: 'text/plain' });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    const added = [1, 7, 13, 3, 11].map(name);
    do {
      const page = await provider.list({ prefix: `${base}/`, limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.key));
      cursor = page.cursor;
      // New keys land both before and after the cursor while the listing is under way.
      const next = added.shift();
      if (next) await provider.put(next, Buffer.from('y'), { contentType: 'text/plain' });
      pages++;
    } while (cursor && pages < 50);

    expect(cursor).toBeUndefined();
    expect(new Set(seen).size).toBe(seen.length);
    for (const key of original) expect(seen).toContain(key);
    for (const key of seen) expect([...original, ...[1, 7, 13, 3, 11].map(name)]).toContain(key);
  });

  run.case('ping answers up when the backend is reachable', {}, async (_env, provider) => {
    await expect(provider.ping()).resolves.toBeUndefined();
  });

  run.case(
    'an upload to an unreachable backend fails without waiting for a body that has gone quiet',
    { timeout: 60_000, skipReason: (env) => (env.unreachable ? undefined : 'the target supplies no unreachable() backend: this backend cannot be made unreachable from the test') },
    async (env) => {
      const down = await env.unreachable!();
      // Enough for a multipart backend to start sending, then nothing: a client gone quiet. The
      // caller owns the body (and ends it); put must not wait for it once the backend failed.
      async function* quiet(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 7; i++) yield Buffer.alloc(1024 * 1024, i);
        await new Promise(() => undefined);
      }
      const body = Readable.from(quiet(), { objectMode: false });
      try {
        let failure: unknown;
        const settled = down.put('unreachable/quiet.bin', body, { contentType: 'application/octet-stream', contentLength: 16 * 1024 * 1024 }).then(
          () => 'stored',
          (error: unknown) => {
            failure = error;
            return 'refused';
          },
        );
        const waited = new Promise((resolve) => setTimeout(() => resolve('still waiting after 30 s'), 30_000));
        expect(await Promise.race([settled, waited])).toBe('refused');
        expect([ProviderUnavailableError, TimeoutError].some((type) => failure instanceof type), String(failure)).toBe(true);
      } finally {
        body.destroy();
        await down.close();
      }
    },
  );

  run.case(
    'ping answers down, with a reason, when the backend is unreachable',
    { skipReason: (env) => (env.unreachable ? undefined : 'the target supplies no unreachable() backend: this backend cannot be made unreachable from the test') },
    async (env) => {
      const down = await env.unreachable!();
      try {
        const error = await down.ping().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error, 'ping of an unreachable backend must fail').toBeDefined();
        expect([ProviderUnavailableError, TimeoutError].some((type) => error instanceof type), String(error)).toBe(true);
        expect((error as Error).message.length).toBeGreaterThan(10);
      } finally {
        await down.close();
      }
    },
  );
}
