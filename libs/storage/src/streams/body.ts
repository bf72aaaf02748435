import { Readable } from 'node:stream';
import type { BodySource } from '../contract/index.js';

export function isReadable(value: unknown): value is Readable {
  return value instanceof Readable;
}

/** A Buffer can be sent again after a failure; a stream cannot. */
export function isReplayable(body: BodySource): body is Buffer | Uint8Array {
  return body instanceof Uint8Array;
}

/** One Readable for every body shape, without copying a Buffer's bytes. */
export function toReadable(body: BodySource): Readable {
  if (body instanceof Readable) return body;
  if (body instanceof Uint8Array) return Readable.from([body], { objectMode: false });
  return Readable.from(body, { objectMode: false });
}

/** Length of a body when it is known without reading it. */
export function knownLength(body: BodySource): number | undefined {
  return body instanceof Uint8Array ? body.byteLength : undefined;
}

/**
 * Reads the first `bytes` bytes of a stream without losing them: resolves to those bytes and a
 * stream that yields the whole body again (head first). Memory use is bounded by `bytes`.
 */
export async function peekHead(source: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks, length);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    }
  }
  const body = Readable.from(replay(), { objectMode: false });
  body.once('close', () => {
    if (!done) void iterator.return?.();
  });
  return { head: head.subarray(0, Math.min(bytes, head.length)), body };
}

/** Drains a stream into a Buffer. Only for small, bounded bodies (tests, metadata). */
export async function readAll(source: Readable | AsyncIterable<Uint8Array>, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    length += buffer.length;
    if (length > limit) throw new RangeError(`readAll: more than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, length);
}
