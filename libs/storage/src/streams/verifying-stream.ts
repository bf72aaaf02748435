import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CorruptionError } from '../errors/index.js';

/**
 * Passes bytes through and fails at the end with CorruptionError when their size or SHA-256
 * differs from the record's. The reader sees an error instead of a silently wrong body: the
 * last chunk is held back until the hash is checked, so a corrupt body never arrives whole
 * (an HTTP response is cut short of its Content-Length instead of completing).
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private held?: Buffer;

  constructor(
    private readonly expected: { size: number; sha256: string },
    private readonly onMismatch?: (what: 'size' | 'sha256') => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.size) {
      this.onMismatch?.('size');
      callback(new CorruptionError('Stored object is larger than its record says'));
      return;
    }
    this.hash.update(chunk);
    const previous = this.held;
    this.held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expected.size) {
      this.onMismatch?.('size');
      callback(new CorruptionError('Stored object is shorter than its record says'));
      return;
    }
    if (this.hash.digest('hex') !== this.expected.sha256) {
      this.onMismatch?.('sha256');
      callback(new CorruptionError('Stored object does not match its recorded SHA-256'));
      return;
    }
    callback(null, this.held);
  }
}
