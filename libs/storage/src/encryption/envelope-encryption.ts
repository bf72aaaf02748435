import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable, addAbortSignal } from 'node:stream';
import { CorruptionError, InvalidArgumentError } from '../errors/index.js';
import { DEFAULT_CHUNK_SIZE, type LocalEncryptionConfig } from './encryption.config.js';
import {
  DATA_KEY_BYTES,
  HEADER_BYTES,
  MAGIC,
  TAG_BYTES,
  createHeader,
  frameAad,
  frameNonce,
  frameSpan,
  hasMagic,
  layoutOf,
  parseHeader,
  type EnvelopeHeader,
  type FrameLayout,
} from './envelope-format.js';
import { MasterKeyring, type StoredEnvelope } from './master-keyring.js';

/** One object being written: its envelope (for the metadata) and the encrypting generator. */
export interface SealingObject {
  readonly envelope: StoredEnvelope;
  /** Header, then one sealed frame per `chunkSize` plaintext bytes; at most one chunk is held. */
  encrypt(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer>;
  /** Plaintext bytes consumed so far. */
  readonly plaintextBytes: number;
}

/** Reads exactly `length` bytes at `position`, or fails: a short read means the file changed. */
async function readExactly(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new CorruptionError('Encrypted object ended early (truncated or changed while reading)');
    filled += bytesRead;
  }
  return buffer;
}

/**
 * Envelope encryption of local objects: each object gets a random AES-256 data key, wrapped by
 * the active master key; its bytes are sealed in authenticated frames (see envelope-format.ts),
 * so a range is served by decrypting only the frames it covers. Only node:crypto primitives.
 */
export class EnvelopeEncryption {
  private constructor(
    readonly keyring: MasterKeyring,
    readonly chunkSize: number,
  ) {}

  static fromConfig(config: LocalEncryptionConfig, configPath: string): EnvelopeEncryption {
    const keyring = MasterKeyring.fromConfig(config.master_keys, config.active_key_id, configPath);
    return new EnvelopeEncryption(keyring, config.chunk_size ?? DEFAULT_CHUNK_SIZE);
  }

  get activeKeyId(): string {
    return this.keyring.activeKeyId;
  }

  /** Starts sealing one new object under a fresh data key. */
  seal(): SealingObject {
    const header = createHeader(this.chunkSize);
    const raw = randomBytes(DATA_KEY_BYTES);
    const envelope = this.keyring.wrap(raw, header);
    const dataKey = createSecretKey(raw);
    raw.fill(0);
    const chunkSize = this.chunkSize;
    let plaintextBytes = 0;
    const sealFrame = (plain: Buffer, index: number, final: boolean): Buffer[] => {
      if (index > 0xffffffff) throw new InvalidArgumentError('Object too large for its chunk size');
      const cipher = createCipheriv('aes-256-gcm', dataKey, frameNonce(header, index), { authTagLength: TAG_BYTES });
      cipher.setAAD(frameAad(header, index, final));
      const sealed = cipher.update(plain);
      const rest = cipher.final();
      return rest.length ? [sealed, rest, cipher.getAuthTag()] : [sealed, cipher.getAuthTag()];
    };
    return {
      envelope,
      get plaintextBytes() {
        return plaintextBytes;
      },
      async *encrypt(source) {
        yield header.raw;
        const pending = Buffer.allocUnsafe(chunkSize);
        let fill = 0;
        let index = 0;
        for await (const input of source) {
          const bytes = typeof input === 'string' ? Buffer.from(input) : input;
          let offset = 0;
          while (offset < bytes.length) {
            // A full chunk is sealed only once more bytes arrive: the last one must carry final = 1.
            if (fill === chunkSize) {
              yield* sealFrame(pending, index++, false);
              fill = 0;
            }
            const take = Math.min(chunkSize - fill, bytes.length - offset);
            pending.set(bytes.subarray(offset, offset + take), fill);
            fill += take;
            offset += take;
            plaintextBytes += take;
          }
        }
        yield* sealFrame(pending.subarray(0, fill), index, true);
      },
    };
  }

  /** Plaintext size of an encrypted file of `fileSize` bytes (no key needed). */
  static plaintextSize(fileSize: number, envelope: StoredEnvelope): number {
    return layoutOf(fileSize, envelope.chunkSize).plaintextSize;
  }

  /** True when the first bytes are an encrypted object's header (used to refuse one whose envelope is lost). */
  static looksEncrypted(head: Buffer): boolean {
    return hasMagic(head);
  }

  static readonly MAGIC_BYTES = MAGIC.length;

  private async openKey(handle: FileHandle, fileSize: number, envelope: StoredEnvelope, objectKey: string) {
    const header = parseHeader(await readExactly(handle, HEADER_BYTES, 0));
    if (header.chunkSize !== envelope.chunkSize) throw new CorruptionError(`Header of ${JSON.stringify(objectKey)} disagrees with its envelope`);
    const layout = layoutOf(fileSize, header.chunkSize);
    const raw = this.keyring.unwrap(envelope, header, objectKey);
    const dataKey = createSecretKey(raw);
    raw.fill(0);
    return { header, layout, dataKey };
  }

  /**
   * A stream of plaintext bytes `start..end` (inclusive; the whole object when omitted). Only the
   * frames covering the range are read and authenticated; the first is checked before this
   * resolves, so a tampered object fails here rather than after a response has started. The
   * handle is closed when the stream ends or is destroyed.
   */
  async open(
    handle: FileHandle,
    fileSize: number,
    envelope: StoredEnvelope,
    objectKey: string,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): Promise<Readable> {
    const { header, layout, dataKey } = await this.openKey(handle, fileSize, envelope, objectKey);
    const start = range?.start ?? 0;
    const end = range?.end ?? layout.plaintextSize - 1;
    const firstFrame = Math.floor(start / layout.chunkSize);
    // An empty object still has its one (empty) frame authenticated.
    const lastFrame = layout.plaintextSize === 0 ? 0 : Math.floor(end / layout.chunkSize);
    const decrypt = async (index: number): Promise<Buffer> => {
      const plain = await decryptFrame(handle, header, layout, dataKey, index, objectKey);
      const from = index === firstFrame ? start - index * layout.chunkSize : 0;
      const to = index === lastFrame ? end - index * layout.chunkSize + 1 : plain.length;
      return from === 0 && to === plain.length ? plain : plain.subarray(from, Math.max(from, to));
    };
    const first = await decrypt(firstFrame);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      void handle.close().catch(() => undefined);
    };
    async function* frames(): AsyncGenerator<Buffer> {
      try {
        if (first.length) yield first;
        for (let index = firstFrame + 1; index <= lastFrame; index++) yield await decrypt(index);
      } finally {
        close();
      }
    }
    const body = Readable.from(frames(), { objectMode: false });
    body.once('close', close);
    if (signal) addAbortSignal(signal, body);
    return body;
  }

  /**
   * A new envelope for the object's data key under the active master key, or undefined when it
   * already uses it. Only the envelope changes: the data file is read (its header) but not written.
   */
  async rewrap(handle: FileHandle, envelope: StoredEnvelope, objectKey: string): Promise<StoredEnvelope | undefined> {
    if (envelope.keyId === this.keyring.activeKeyId) return undefined;
    const header = parseHeader(await readExactly(handle, HEADER_BYTES, 0));
    if (header.chunkSize !== envelope.chunkSize) throw new CorruptionError(`Header of ${JSON.stringify(objectKey)} disagrees with its envelope`);
    const raw = this.keyring.unwrap(envelope, header, objectKey);
    try {
      return this.keyring.wrap(raw, header);
    } finally {
      raw.fill(0);
    }
  }
}

async function decryptFrame(
  handle: FileHandle,
  header: EnvelopeHeader,
  layout: FrameLayout,
  dataKey: KeyObject,
  index: number,
  objectKey: string,
): Promise<Buffer> {
  const { position, length } = frameSpan(layout, index);
  const frame = await readExactly(handle, length, position);
  const final = index === layout.frames - 1;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, frameNonce(header, index), { authTagLength: TAG_BYTES });
    decipher.setAAD(frameAad(header, index, final));
    decipher.setAuthTag(frame.subarray(length - TAG_BYTES));
    const plain = decipher.update(frame.subarray(0, length - TAG_BYTES));
    const rest = decipher.final(); // throws when the tag does not match: nothing of this frame is served
    return rest.length ? Buffer.concat([plain, rest]) : plain;
  } catch (error) {
    throw new CorruptionError(`Frame ${index} of ${JSON.stringify(objectKey)} failed authentication (altered, reordered or truncated)`, {
      cause: error,
      details: { frame: index },
    });
  }
}
