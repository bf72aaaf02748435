import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAll } from '../../streams/index.js';
import { LocalStorageProvider } from './local.provider.js';

describe('local provider under concurrent writes and deletes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-concurrency-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a write into a folder whose last object another call deletes still lands', async () => {
    const local = new LocalStorageProvider();
    await local.initialize({ name: 'local', config: { base_path: join(dir, 'root'), fsync: false } });
    const failures: string[] = [];
    // Deleting the last object of t1/board/ removes the folder (and its sidecar folder) while
    // other writes into the same folder are on their way.
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let round = 0; round < 40; round++) {
          const key = `t1/board/w${worker}-${round % 3}`;
          try {
            await local.put(key, Buffer.from(`${worker}:${round}`), { contentType: 'text/plain' });
            const { body } = await local.get(key).catch(() => ({ body: undefined }));
            if (body) await readAll(body, 1024);
            await local.delete(key);
          } catch (error) {
            const cause = (error as { cause?: { code?: string; syscall?: string } }).cause;
            failures.push(`${key}: ${String(error)}${cause ? ` (${cause.syscall} ${cause.code})` : ''}`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 60_000);
});
