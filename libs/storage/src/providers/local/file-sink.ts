import { write, writev } from 'node:fs';
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
   * Bytes buffered before the writer waits (default 1 MiB). Chunks that arrive while a write is
   * in flight go out together in one writev. On the HTTP path, whose chunks are 64 KiB or less,
   * 1 MiB measured 12–25% faster than 64 KiB, with less CPU (fewer writes, fewer wake-ups).
   */
  highWaterMark?: number;
}

/**
 * A Writable over an open file: gathers buffered chunks into one `writev`, syncs in steps as
 * described above, and fsyncs at the end. The caller owns the handle and closes it after
 * `idle()` (closing waits for a sync still in flight by itself).
 */
export class FileSink extends Writable {
  private sinceSync = 0;
  private syncing?: Promise<void>;
  private syncError?: unknown;
  /** Writes issued on the descriptor and not answered yet (the handle must stay open for them). */
  private writing = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handle: FileHandle,
    private readonly options: FileSinkOptions,
  ) {
    super({ highWaterMark: options.highWaterMark ?? 1024 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(
      chunks.map((entry) => entry.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = async (): Promise<void> => {
      await this.syncing;
      if (this.syncError) throw this.syncError;
      if (this.options.fsync) await this.handle.sync();
    };
    finish().then(() => callback(), callback);
  }

  /**
   * Resolves once no write is in flight on the descriptor. A failed or destroyed stream does not
   * wait for its last write; the owner awaits this before closing the handle.
   */
  idle(): Promise<void> {
    if (this.writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * One write call on the file's descriptor (the callback API: on a hot path it costs the event
   * loop a third of what the promise API does). May write fewer bytes than given.
   */
  protected writeOnce(buffers: Buffer[], done: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void): void {
    if (buffers.length === 1) write(this.handle.fd, buffers[0], 0, buffers[0].length, null, (error, written) => done(error, written));
    else writev(this.handle.fd, buffers, (error, written) => done(error, written));
  }

  /** Writes every byte of `buffers`, going on after a short write. */
  private writeAll(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.syncError) {
      callback(this.syncError as Error);
      return;
    }
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    let pending = buffers;
    let remaining = total;
    const step = (): void => {
      if (remaining === 0) {
        this.sinceSync += total;
        this.maybeSync();
        callback();
        return;
      }
      this.writing += 1;
      this.writeOnce(pending, (error, written) => {
        this.writing -= 1;
        if (this.writing === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        if (error) return callback(error);
        if (written <= 0) return callback(new Error('The file write made no progress'));
        remaining -= written;
        if (remaining > 0) pending = skip(pending, written);
        step();
      });
    };
    step();
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
