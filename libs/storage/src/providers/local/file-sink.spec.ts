import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileSink } from './file-sink.js';

describe('FileSink', () => {
  let dir: string;
  let handle: FileHandle;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-sink-'));
    handle = await open(join(dir, 'out.bin'), 'wx');
  });
  afterEach(async () => {
    await handle.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const chunks = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));

  it('writes every byte in order and fsyncs once at the end', async () => {
    const sync = vi.spyOn(handle, 'sync');
    const datasync = vi.spyOn(handle, 'datasync');
    const body = chunks(40, 64 * 1024);
    await pipeline(Readable.from(body), new FileSink(handle, { fsync: true, syncEvery: 0 }));
    expect((await readFile(join(dir, 'out.bin'))).equals(Buffer.concat(body))).toBe(true);
    expect(sync).toHaveBeenCalledTimes(1);
    expect(datasync).not.toHaveBeenCalled();
  });

  it('flushes in steps while writing when syncEvery is set', async () => {
    // Flushes that return at once: how many start then depends on the bytes written, not on how
    // long the disk takes (a slow one would leave one flush in flight for the whole write).
    const datasync = vi.spyOn(handle, 'datasync').mockResolvedValue(undefined);
    const sync = vi.spyOn(handle, 'sync');
    await pipeline(Readable.from(chunks(64, 64 * 1024)), new FileSink(handle, { fsync: true, syncEvery: 512 * 1024, highWaterMark: 64 * 1024 }));
    // 4 MiB written with a flush every 512 KiB: about eight, and the final fsync.
    expect(datasync.mock.calls.length).toBeGreaterThanOrEqual(6);
    expect(datasync.mock.calls.length).toBeLessThanOrEqual(8);
    expect(sync).toHaveBeenCalledTimes(1);
    expect((await handle.stat()).size).toBe(4 * 1024 * 1024);
  });

  it('neither flushes nor fsyncs without fsync', async () => {
    const datasync = vi.spyOn(handle, 'datasync');
    const sync = vi.spyOn(handle, 'sync');
    await pipeline(Readable.from(chunks(64, 64 * 1024)), new FileSink(handle, { fsync: false, syncEvery: 64 * 1024 }));
    expect(datasync).not.toHaveBeenCalled();
    expect(sync).not.toHaveBeenCalled();
  });

  it('goes on after a short write', async () => {
    // The kernel may write fewer bytes than asked: hand it at most 1000 bytes at a time.
    class ShortWrites extends FileSink {
      calls = 0;
      protected override writeOnce(buffers: Buffer[], done: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void): void {
        this.calls += 1;
        let room = 1000;
        const part: Buffer[] = [];
        for (const buffer of buffers) {
          if (room <= 0) break;
          part.push(buffer.subarray(0, room));
          room -= Math.min(room, buffer.length);
        }
        super.writeOnce(part, done);
      }
    }
    const body = [Buffer.from('a'.repeat(2500)), Buffer.from('b'.repeat(10)), Buffer.from('c'.repeat(1700))];
    const sink = new ShortWrites(handle, { fsync: false, syncEvery: 0 });
    await pipeline(Readable.from(body), sink);
    expect((await readFile(join(dir, 'out.bin'))).toString()).toBe(`${'a'.repeat(2500)}${'b'.repeat(10)}${'c'.repeat(1700)}`);
    expect(sink.calls).toBeGreaterThanOrEqual(5);
  });

  it('gathers the chunks that queue up behind a write, up to its buffer, into one write', async () => {
    // Each write is answered only after the next tick, so chunks queue up behind it.
    class CountingWrites extends FileSink {
      calls = 0;
      protected override writeOnce(buffers: Buffer[], done: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void): void {
        this.calls += 1;
        setImmediate(() => super.writeOnce(buffers, done));
      }
    }
    const writesWith = async (options: { highWaterMark?: number }, file: string): Promise<number> => {
      const target = await open(join(dir, file), 'wx');
      const sink = new CountingWrites(target, { fsync: false, syncEvery: 0, ...options });
      const body = chunks(64, 64 * 1024);
      await pipeline(Readable.from(body), sink);
      expect((await readFile(join(dir, file))).equals(Buffer.concat(body))).toBe(true);
      await target.close();
      return sink.calls;
    };
    const small = await writesWith({ highWaterMark: 64 * 1024 }, 'small.bin');
    const large = await writesWith({}, 'default.bin'); // 1 MiB
    expect(large * 4).toBeLessThanOrEqual(small);
  });

  it('reports idle only once the write in flight has been answered', async () => {
    let answer: (() => void) | undefined;
    class SlowWrite extends FileSink {
      protected override writeOnce(buffers: Buffer[], done: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void): void {
        answer = () => super.writeOnce(buffers, done);
      }
    }
    const sink = new SlowWrite(handle, { fsync: false, syncEvery: 0 });
    sink.write(Buffer.from('abc'));
    let idle = false;
    const waiting = sink.idle().then(() => (idle = true));
    sink.destroy(); // a failed pipeline does not wait for the write: the owner must, before closing
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(idle).toBe(false);
    answer!();
    await waiting;
    expect(idle).toBe(true);
  });

  it('fails the stream when a flush fails', async () => {
    vi.spyOn(handle, 'datasync').mockRejectedValue(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const sink = new FileSink(handle, { fsync: true, syncEvery: 64 * 1024, highWaterMark: 64 * 1024 });
    await expect(pipeline(Readable.from(chunks(32, 64 * 1024)), sink)).rejects.toMatchObject({ code: 'EIO' });
  });

  it('fails the stream when the final fsync fails', async () => {
    vi.spyOn(handle, 'sync').mockRejectedValue(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }));
    await expect(pipeline(Readable.from(chunks(2, 1024)), new FileSink(handle, { fsync: true, syncEvery: 0 }))).rejects.toMatchObject({
      code: 'ENOSPC',
    });
  });
});
