import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ChecksumMismatchError, IncompleteBodyError, PayloadTooLargeError } from '../errors/index.js';

export interface MeterOptions {
  /** Fail with PayloadTooLargeError as soon as more than this many bytes pass. */
  maxBytes?: number;
  /** Fail with IncompleteBodyError unless exactly this many bytes pass. */
  expectedLength?: number;
  /** Fail with ChecksumMismatchError unless the SHA-256 (hex) matches. */
  expectedSha256?: string;
}

/**
 * Counts and hashes the bytes that flow through it, and fails the stream the moment a limit is
 * crossed (never after buffering the excess). The failure reaches whoever is writing the bytes
 * to a backend, who then aborts and leaves no object.
 */
export class MeteredStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digest?: string;

  constructor(private readonly options: MeterOptions = {}) {
    super();
  }

  get bytesSeen(): number {
    return this.bytes;
  }

  /** Hex SHA-256 of everything that passed; available once the stream has ended. */
  get sha256(): string {
    if (!this.digest) throw new Error('MeteredStream: the body has not ended yet');
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, expectedLength } = this.options;
    if (maxBytes !== undefined && this.bytes > maxBytes) {
      callback(new PayloadTooLargeError(maxBytes));
      return;
    }
    if (expectedLength !== undefined && this.bytes > expectedLength) {
      callback(
        new IncompleteBodyError(`Body is longer than its declared length of ${expectedLength} bytes`, {
          details: { declared: expectedLength },
        }),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { expectedLength, expectedSha256 } = this.options;
    if (expectedLength !== undefined && this.bytes !== expectedLength) {
      callback(
        new IncompleteBodyError(
          `Body ended after ${this.bytes} of its declared ${expectedLength} bytes`,
          { details: { declared: expectedLength, received: this.bytes } },
        ),
      );
      return;
    }
    this.digest = this.hash.digest('hex');
    if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== this.digest) {
      callback(new ChecksumMismatchError('Body does not match its declared SHA-256'));
      return;
    }
    callback();
  }
}
