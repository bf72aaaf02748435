import { randomBytes } from 'node:crypto';
import { CorruptionError } from '../errors/index.js';

/**
 * On-disk layout of an encrypted object (data file):
 *
 *   header (32 bytes) | frame 0 | frame 1 | ... | frame n-1
 *
 * header: magic (8) | version (1) | algorithm (1) | reserved (2) | chunk size u32 BE (4) | salt (16)
 * frame:  AES-256-GCM ciphertext of `chunk size` plaintext bytes (fewer in the last frame) | tag (16)
 *
 * Frame i is sealed with the object's data key, nonce `salt[0..8] | i (u32 BE)` and AAD
 * `header | i (u32 BE) | final (u8)`. The header is thus authenticated by every frame, a frame
 * moved to another index or another object fails, and the last frame alone carries final = 1, so
 * a file cut at a frame boundary or extended fails too. There is always at least one frame (an
 * empty object is one empty final frame), so even an empty object is authenticated.
 */
export const MAGIC = Buffer.from([0x89, 0x42, 0x53, 0x45, 0x0d, 0x0a, 0x1a, 0x0a]); // \x89 B S E \r \n \x1a \n
export const FORMAT_VERSION = 1;
export const ALGORITHM_AES_256_GCM = 1;
export const HEADER_BYTES = 32;
export const TAG_BYTES = 16;
export const SALT_BYTES = 16;
export const DATA_KEY_BYTES = 32;
export const NONCE_BYTES = 12;

export interface EnvelopeHeader {
  raw: Buffer;
  chunkSize: number;
  salt: Buffer;
}

export function createHeader(chunkSize: number): EnvelopeHeader {
  const raw = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(raw, 0);
  raw.writeUInt8(FORMAT_VERSION, 8);
  raw.writeUInt8(ALGORITHM_AES_256_GCM, 9);
  raw.writeUInt32BE(chunkSize, 12);
  const salt = randomBytes(SALT_BYTES);
  salt.copy(raw, 16);
  return { raw, chunkSize, salt };
}

export function hasMagic(bytes: Buffer): boolean {
  return bytes.length >= MAGIC.length && bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Parses a header read from disk. Its integrity is proven later, by the frames' tags. */
export function parseHeader(raw: Buffer): EnvelopeHeader {
  if (raw.length !== HEADER_BYTES || !hasMagic(raw)) throw new CorruptionError('Encrypted object has no valid header');
  if (raw.readUInt8(8) !== FORMAT_VERSION || raw.readUInt8(9) !== ALGORITHM_AES_256_GCM || raw.readUInt16BE(10) !== 0) {
    throw new CorruptionError('Encrypted object header names an unknown format version or algorithm');
  }
  const chunkSize = raw.readUInt32BE(12);
  if (chunkSize < 1) throw new CorruptionError('Encrypted object header has an invalid chunk size');
  return { raw: Buffer.from(raw), chunkSize, salt: Buffer.from(raw.subarray(16, 32)) };
}

export function frameNonce(header: EnvelopeHeader, index: number): Buffer {
  const nonce = Buffer.alloc(NONCE_BYTES);
  header.salt.copy(nonce, 0, 0, 8);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

export function frameAad(header: EnvelopeHeader, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(HEADER_BYTES + 5);
  header.raw.copy(aad, 0);
  aad.writeUInt32BE(index, HEADER_BYTES);
  aad.writeUInt8(final ? 1 : 0, HEADER_BYTES + 4);
  return aad;
}

export interface FrameLayout {
  chunkSize: number;
  /** Plaintext bytes of the whole object. */
  plaintextSize: number;
  frames: number;
  /** Plaintext bytes of the last frame (0 for an empty object). */
  lastChunkBytes: number;
}

/**
 * Derives the frame layout (and so the plaintext size) from the file's size alone. A length
 * that no writer produces is corruption; one that parses but was cut or extended at a frame
 * boundary is caught when the final flag of the (new) last frame fails to authenticate.
 */
export function layoutOf(fileSize: number, chunkSize: number): FrameLayout {
  const body = fileSize - HEADER_BYTES;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new CorruptionError('Encrypted object names an invalid chunk size');
  if (!Number.isSafeInteger(body) || body < TAG_BYTES) {
    throw new CorruptionError('Encrypted object is shorter than its header and one frame');
  }
  const frameBytes = chunkSize + TAG_BYTES;
  const full = Math.floor(body / frameBytes);
  const rest = body % frameBytes;
  if (rest === 0) return { chunkSize, plaintextSize: full * chunkSize, frames: full, lastChunkBytes: chunkSize };
  if (rest < TAG_BYTES) throw new CorruptionError('Encrypted object ends inside a frame tag');
  if (full + 1 > 0xffffffff) throw new CorruptionError('Encrypted object has too many frames');
  return { chunkSize, plaintextSize: full * chunkSize + rest - TAG_BYTES, frames: full + 1, lastChunkBytes: rest - TAG_BYTES };
}

/** File offset and length of frame `index`. */
export function frameSpan(layout: FrameLayout, index: number): { position: number; length: number } {
  const frameBytes = layout.chunkSize + TAG_BYTES;
  const last = index === layout.frames - 1;
  return { position: HEADER_BYTES + index * frameBytes, length: (last ? layout.lastChunkBytes : layout.chunkSize) + TAG_BYTES };
}
