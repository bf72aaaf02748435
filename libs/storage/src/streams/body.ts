import { Readable } from 'node:stream';
import type { BodySource } from '../contract/index.js';
import { IncompleteBodyError } from '../errors/index.js';

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
 * stream that yields the whole body again (head first). Memory use is bounded by `bytes` plus
 * one chunk. The head is put back into the source itself (`unshift`), so the body costs no
 * extra stream stage per chunk; a body shorter than `bytes` comes back as a new stream.
 */
export async function peekHead(source: Readable, bytes: number): Promise<{ head: Buffer; body: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const chunk = source.read() as Buffer | Uint8Array | string | null;
    if (chunk !== null) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      chunks.push(buffer);
      length += buffer.length;
      continue;
    }
    if (source.readableEnded) {
      ended = true;
      break;
    }
    if (source.destroyed) throw source.errored ?? new IncompleteBodyError('The body stream closed before its end');
    ended = await readableOrEnd(source);
    if (ended) break;
  }
  const head = Buffer.concat(chunks, length);
  const peeked = head.subarray(0, Math.min(bytes, head.length));
  if (ended) return { head: peeked, body: Readable.from(head.length ? [head] : [], { objectMode: false }) };
  if (head.length) source.unshift(head);
  return { head: peeked, body: holdErrors(source) };
}

const HOLDING = Symbol('boards.holdErrors');

/**
 * Keeps a failure of a body stream that nobody reads yet (a client leaving before the storage
 * layer starts reading) on the stream, as `errored`, for its reader to find (a pipeline over a
 * failed stream rejects with that error), instead of throwing it as an uncaught exception.
 * Returns the stream.
 */
export function holdErrors<T extends Readable>(stream: T): T {
  const marked = stream as T & { [HOLDING]?: boolean };
  if (!marked[HOLDING]) {
    marked[HOLDING] = true;
    stream.on('error', () => undefined);
  }
  return stream;
}

/** Resolves false when the stream has data to read, true when it has ended; rejects when it fails. */
function readableOrEnd(source: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      outcome();
    };
    const onReadable = () => settle(() => resolve(source.readableEnded));
    const onEnd = () => settle(() => resolve(true));
    const onError = (error: Error) => settle(() => reject(error));
    const onClose = () =>
      settle(() => (source.readableEnded ? resolve(true) : reject(source.errored ?? new IncompleteBodyError('The body stream closed before its end'))));
    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
  });
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
