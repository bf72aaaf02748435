import { Transform, type TransformCallback } from 'node:stream';
import { ContentMismatchError } from '../errors/index.js';

const LOCAL_FILE_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** Longest entry name examined; the names that matter (`archive/data.pkl`) are short. */
const MAX_NAME = 4096;

/** Entry names that mark a pickle inside a zip: PyTorch's `<name>/data.pkl`, or any `.pkl`. */
export function isPickleEntryName(name: string): boolean {
  return /(^|\/)data\.pkl$/i.test(name) || /\.(pkl|pickle)$/i.test(name);
}

export function pickleRefusal(what: string): ContentMismatchError {
  return new ContentMismatchError(
    `${what}: loading it runs arbitrary code. Use safetensors, or allow pickles with content_validation.allow_pickle`,
    { details: { detected: 'pickle' } },
  );
}

/** The name of the zip entry whose local header starts at `offset`, or undefined if incomplete. */
export function zipEntryNameAt(buffer: Buffer, offset: number): string | undefined | null {
  if (offset + 30 > buffer.length) return undefined;
  const nameLength = buffer.readUInt16LE(offset + 26);
  if (nameLength > MAX_NAME) return null;
  if (offset + 30 + nameLength > buffer.length) return undefined;
  return buffer.subarray(offset + 30, offset + 30 + nameLength).toString('utf8');
}

/**
 * Passes a zip body through while reading each local file header's entry name, and fails on a
 * pickle entry (a PyTorch `.pt`/`.bin` checkpoint). Keeps at most one header across chunks.
 */
export class ZipPickleScanStream extends Transform {
  private carry: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let from = 0;
    let keepFrom = Math.max(0, buffer.length - (LOCAL_FILE_HEADER.length - 1));
    for (;;) {
      const at = buffer.indexOf(LOCAL_FILE_HEADER, from);
      if (at < 0) break;
      const name = zipEntryNameAt(buffer, at);
      if (name === undefined) {
        keepFrom = at; // the header continues in the next chunk
        break;
      }
      if (name !== null && isPickleEntryName(name)) {
        callback(pickleRefusal(`Zip entry "${name.slice(0, 120)}" is a pickle`));
        return;
      }
      from = at + LOCAL_FILE_HEADER.length;
    }
    // A copy, so a small carry never pins a large chunk in memory.
    this.carry = Buffer.from(buffer.subarray(keepFrom));
    callback(null, chunk);
  }
}
