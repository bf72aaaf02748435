import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readAll } from '../../streams/index.js';
import { LocalStorageProvider } from './local.provider.js';

/**
 * An overwrite that stops between writing the new sidecar and renaming the new data into place,
 * as a crash would: the `rename` of a data file (not of a sidecar, which lives under the internal
 * folder) fails once when `interrupt.next` is set.
 */
const interrupt = vi.hoisted(() => ({ next: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (interrupt.next && !String(to).includes(`${sep}.boards-storage${sep}`)) {
        interrupt.next = false;
        throw Object.assign(new Error('simulated crash before the data rename'), { code: 'EIO' });
      }
      return actual.rename(from, to);
    },
  };
});

describe('local provider: an overwrite interrupted before its data is renamed', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-interrupted-'));
  });
  afterEach(async () => {
    interrupt.next = false;
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(config: Record<string, unknown> = {}) {
    const instance = new LocalStorageProvider();
    await instance.initialize({ name: 'local', config: { base_path: join(dir, 'root'), ...config } });
    return instance;
  }

  const variants: [string, Record<string, unknown>][] = [
    ['plain', {}],
    ['encrypted', { encryption: { master_keys: { k1: randomBytes(32).toString('base64') } } }],
  ];

  it.each(variants)('leaves the previous object whole, with its metadata (%s)', async (_name, config) => {
    const local = await provider(config);
    const key = 't1/text/b1/a1/original';
    await local.put(key, Buffer.from('the previous object'), { contentType: 'text/plain', metadata: { origin: 'first' } });

    interrupt.next = true;
    await expect(local.put(key, Buffer.from('{"the":"new one"}'), { contentType: 'application/json', metadata: { origin: 'second' } })).rejects.toThrow();
    expect(interrupt.next).toBe(false); // the data rename was the step that failed

    const { body, info } = await local.get(key);
    expect((await readAll(body, 1024)).toString()).toBe('the previous object');
    expect(info).toMatchObject({ contentType: 'text/plain', metadata: { origin: 'first' } });

    // The next overwrite goes through and describes its own data.
    await local.put(key, Buffer.from('{"the":"new one"}'), { contentType: 'application/json', metadata: { origin: 'third' } });
    const after = await local.get(key);
    expect((await readAll(after.body, 1024)).toString()).toBe('{"the":"new one"}');
    expect(after.info).toMatchObject({ contentType: 'application/json', metadata: { origin: 'third' } });
  });
});
