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
 * folder) fails once when `interrupt.next` is set. `interrupt.slowRename` delays the next data
 * rename instead, so that another write can run meanwhile.
 */
const interrupt = vi.hoisted(() => ({ next: false, slowRename: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (!String(to).includes(`${sep}.boards-storage${sep}`)) {
        if (interrupt.slowRename > 0) {
          const delay = interrupt.slowRename;
          interrupt.slowRename = 0;
          await new Promise((resolve) => setTimeout(resolve, delay));
        } else if (interrupt.next) {
          interrupt.next = false;
          throw Object.assign(new Error('simulated crash before the data rename'), { code: 'EIO' });
        }
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
    interrupt.slowRename = 0;
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

  it('re-wraps the data key of the object an interrupted overwrite left in place', async () => {
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    const key = 't1/text/b1/a1/original';
    const before = await provider({ encryption: { master_keys: { k1 } } });
    await before.put(key, Buffer.from('sealed with k1'), { contentType: 'text/plain' });
    interrupt.next = true;
    await expect(before.put(key, Buffer.from('never published'), { contentType: 'text/plain' })).rejects.toThrow();

    const rotating = await provider({ encryption: { master_keys: { k2, k1 }, active_key_id: 'k2' } });
    expect(await rotating.rewrapKey(key)).toBe('rewrapped');
    expect(await rotating.rewrapKey(key)).toBe('current');
    const after = await provider({ encryption: { master_keys: { k2 } } });
    const { body, info } = await after.get(key);
    expect((await readAll(body, 1024)).toString()).toBe('sealed with k1');
    expect(info.contentType).toBe('text/plain');
  });

  it('keeps concurrent overwrites of one key described when the second one fails', async () => {
    const local = await provider(variants[1][1]);
    const key = 't1/text/b1/a1/original';
    await local.put(key, Buffer.from('first'), { contentType: 'text/plain', metadata: { v: '1' } });
    // The first overwrite's rename waits; the second starts meanwhile and fails at its rename.
    interrupt.slowRename = 50;
    const first = local.put(key, Buffer.from('second'), { contentType: 'text/plain', metadata: { v: '2' } });
    await new Promise((resolve) => setTimeout(resolve, 10));
    interrupt.next = true;
    const second = local.put(key, Buffer.from('third'), { contentType: 'text/plain', metadata: { v: '3' } });
    await first;
    await expect(second).rejects.toThrow('simulated crash');
    const { body, info } = await local.get(key);
    expect((await readAll(body, 1024)).toString()).toBe('second');
    expect(info.metadata).toEqual({ v: '2' });
  });
});
