import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalStorageProvider } from './local.provider.js';

/**
 * What a put makes durable before it returns. A crash cannot be staged here, so the test counts
 * the fsyncs a put issues: the data, its sidecar, and every folder whose entries changed.
 */
describe('local provider durability', () => {
  let dir: string;
  let fileHandleSync: ReturnType<typeof vi.spyOn>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-durability-'));
    const probe = await open(join(dir, 'probe'), 'w');
    fileHandleSync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
  });
  afterEach(async () => {
    fileHandleSync.mockRestore();
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(config: Record<string, unknown>) {
    const instance = new LocalStorageProvider();
    await instance.initialize({ name: 'local', config: { base_path: join(dir, 'root'), ...config } });
    return instance;
  }

  it('fsyncs the data, the sidecar and the folders that gained an entry', async () => {
    const local = await provider({});
    fileHandleSync.mockClear();
    await local.put('t1/image/b1/a1/original', Buffer.from('bytes'), { contentType: 'image/png' });
    // Data file + sidecar file; the key's folder and the three folders created above it
    // (t1 in the root, image, b1, a1); the sidecar's folder and the folders created for it.
    expect(fileHandleSync.mock.calls.length).toBe(2 + 5 + 5);

    fileHandleSync.mockClear();
    await local.put('t1/image/b1/a1/thumbnail', Buffer.from('more'), { contentType: 'image/png' });
    // Nothing new to create: data, sidecar, and the one folder each that gained a name.
    expect(fileHandleSync.mock.calls.length).toBe(4);
  });

  it('issues no fsync with fsync: false', async () => {
    const local = await provider({ fsync: false });
    fileHandleSync.mockClear();
    await local.put('t1/image/b1/a1/original', Buffer.from('bytes'), { contentType: 'image/png' });
    expect(fileHandleSync).not.toHaveBeenCalled();
  });
});
