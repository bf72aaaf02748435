import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export interface FileSinkOptions {
  /** fsync the file when the stream finishes. */
  fsync: boolean;
  /**
   * While writing, start an fdatasync each time this many more bytes have been written (0: none).
   * Only with `fsync`. The kernel then writes the file back in steps while the body is still
   * arriving, instead of all at once in the final fsync, which on a large file stalls the write
   * for seconds (the same idea as RocksDB's `bytes_per_sync`).
   */
  syncEvery: number;
  /**
   * Bytes buffered before the writer waits (default 64 KiB). Chunks that arrive while a write is
   * in flight go out together in one writev; a larger buffer measured slower on the HTTP path
   * (the bytes have left the CPU cache by the time the kernel copies them).
   */
  highWaterMark?: number;
}

/**
 * A Writable over an open file: gathers buffered chunks into one `writev`, syncs in steps as
 * described above, and fsyncs at the end. The caller owns the handle (and closes it, which
 * waits for a sync still in flight).
 */
export class FileSink extends Writable {
  private sinceSync = 0;
  private syncing?: Promise<void>;
  private syncError?: unknown;

  constructor(
    private readonly handle: FileHandle,
    private readonly options: FileSinkOptions,
  ) {
    super({ highWaterMark: options.highWaterMark ?? 64 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map((entry) => entry.chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = async (): Promise<void> => {
      await this.syncing;
      if (this.syncError) throw this.syncError;
      if (this.options.fsync) await this.handle.sync();
    };
    finish().then(() => callback(), callback);
  }

  /** Writes every byte of `buffers`, going on after a short write. */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    if (this.syncError) throw this.syncError;
    let pending = buffers;
    let remaining = pending.reduce((sum, buffer) => sum + buffer.length, 0);
    const total = remaining;
    while (remaining > 0) {
      const { bytesWritten } = await this.handle.writev(pending);
      remaining -= bytesWritten;
      if (remaining > 0) pending = skip(pending, bytesWritten);
    }
    this.sinceSync += total;
    this.maybeSync();
  }

  private maybeSync(): void {
    const { fsync, syncEvery } = this.options;
    if (!fsync || syncEvery <= 0 || this.sinceSync < syncEvery || this.syncing) return;
    this.sinceSync = 0;
    this.syncing = this.handle.datasync().then(
      () => {
        this.syncing = undefined;
      },
      (error: unknown) => {
        this.syncing = undefined;
        this.syncError = error;
      },
    );
  }
}

/** The buffers that remain after the first `bytes` bytes. */
function skip(buffers: Buffer[], bytes: number): Buffer[] {
  const rest: Buffer[] = [];
  let skipped = bytes;
  for (const buffer of buffers) {
    if (skipped >= buffer.length) {
      skipped -= buffer.length;
      continue;
    }
    rest.push(skipped > 0 ? buffer.subarray(skipped) : buffer);
    skipped = 0;
  }
  return rest;
}
