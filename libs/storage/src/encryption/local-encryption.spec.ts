import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AlreadyExistsError,
  CorruptionError,
  EncryptionKeyUnavailableError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
} from '../errors/index.js';
import { LOCAL_INTERNAL_DIR, LocalStorageProvider } from '../providers/local/local.provider.js';
import { readAll } from '../streams/index.js';
import { tempDir } from '../../../../test/support/temp-dir.js';
import type { LocalEncryptionConfig } from './encryption.config.js';
import { HEADER_BYTES, TAG_BYTES } from './envelope-format.js';

const CHUNK = 1024;
const FRAME = CHUNK + TAG_BYTES;
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function provider(root: string, encryption?: LocalEncryptionConfig): Promise<LocalStorageProvider> {
  const instance = new LocalStorageProvider();
  await instance.initialize({ name: 'local', config: { base_path: root, signing_secret: 'sixteen-chars-or-more', ...(encryption ? { encryption } : {}) } });
  return instance;
}

/** Collects a stream; on failure reports the error and the bytes that were served before it. */
async function drain(body: Readable): Promise<{ bytes: Buffer; error?: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** Yields `data` in awkward piece sizes, as a network would. */
function pieces(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0, n = 0; offset < data.length; n++) {
        const size = [1, 7, 1000, 1500, 4096, 333][n % 6];
        yield data.subarray(offset, offset + size);
        offset += size;
      }
    })(),
  );
}

describe('local provider: envelope encryption at rest', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let root: string;
  let sealed: LocalStorageProvider;
  const dataPath = (key: string) => join(root, key);
  const sidecarPath = (key: string) => join(root, LOCAL_INTERNAL_DIR, 'meta', `${key}.json`);

  beforeAll(async () => {
    dir = await tempDir('boards-encryption-');
    root = join(dir.path, 'root');
    sealed = await provider(root, { master_keys: { k1: K1 }, active_key_id: 'k1', chunk_size: CHUNK });
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('round-trips bodies of every size around the chunk edges, storing no plaintext', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5, 300_000]) {
      const data = randomBytes(size);
      const key = `round/${size}`;
      const put = await sealed.put(key, pieces(data), { contentType: 'application/octet-stream' });
      expect(put.size).toBe(size);
      const frames = Math.max(1, Math.ceil(size / CHUNK));
      expect((await stat(dataPath(key))).size).toBe(HEADER_BYTES + size + frames * TAG_BYTES);
      expect((await sealed.head(key)).size).toBe(size);
      const { body, info } = await sealed.get(key);
      expect(info.size).toBe(size);
      expect(sha(await readAll(body))).toBe(sha(data));
    }
    const marker = Buffer.from('PLAINTEXT-MARKER-'.repeat(200));
    await sealed.put('round/marker', marker, { contentType: 'text/plain' });
    const onDisk = await readFile(dataPath('round/marker'));
    expect(onDisk.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    const sidecar = JSON.parse(await readFile(sidecarPath('round/marker'), 'utf8'));
    expect(sidecar.encryption).toMatchObject({ v: 1, keyId: 'k1', chunkSize: CHUNK });
    expect(JSON.stringify(sidecar)).not.toContain(K1);
  });

  it('reports plaintext sizes in list', async () => {
    await sealed.put('listed/a', randomBytes(CHUNK * 2 + 3), { contentType: 'application/octet-stream' });
    await sealed.put('listed/b', Buffer.alloc(0), { contentType: 'application/octet-stream' });
    const page = await sealed.list({ prefix: 'listed/' });
    expect(page.items.map((item) => [item.key, item.size])).toEqual([
      ['listed/a', CHUNK * 2 + 3],
      ['listed/b', 0],
    ]);
  });

  it('serves any range in plaintext coordinates, across frame edges', async () => {
    const data = randomBytes(5 * CHUNK + 77);
    await sealed.put('ranges/obj', data, { contentType: 'application/octet-stream' });
    const fixed: Array<[number, number]> = [
      [0, 0],
      [CHUNK - 1, CHUNK],
      [CHUNK, 2 * CHUNK - 1],
      [CHUNK - 5, 3 * CHUNK + 5],
      [5 * CHUNK, 5 * CHUNK + 76],
      [0, data.length - 1],
    ];
    for (const [start, end] of fixed) {
      const { body, range } = await sealed.get('ranges/obj', { range: { start, end } });
      expect(range).toEqual({ start, end, total: data.length });
      expect((await readAll(body)).equals(data.subarray(start, end + 1))).toBe(true);
    }
    const suffix = await sealed.get('ranges/obj', { range: { suffix: CHUNK + 10 } });
    expect((await readAll(suffix.body)).equals(data.subarray(data.length - CHUNK - 10))).toBe(true);
    const open = await sealed.get('ranges/obj', { range: { start: 4 * CHUNK + 3 } });
    expect((await readAll(open.body)).equals(data.subarray(4 * CHUNK + 3))).toBe(true);
    await expect(sealed.get('ranges/obj', { range: { start: data.length } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);

    await fc.assert(
      fc.asyncProperty(fc.nat(data.length - 1), fc.nat(data.length + 10), async (start, length) => {
        const end = start + length;
        const { body, range } = await sealed.get('ranges/obj', { range: { start, end } });
        expect(range!.end).toBe(Math.min(end, data.length - 1));
        expect((await readAll(body)).equals(data.subarray(start, end + 1))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('decrypts only the frames a range covers', async () => {
    const data = randomBytes(4 * CHUNK);
    await sealed.put('covered/obj', data, { contentType: 'application/octet-stream' });
    // Spoil frame 0: a range inside frame 2 still reads; one touching frame 0 fails.
    const file = await readFile(dataPath('covered/obj'));
    file[HEADER_BYTES + 10] ^= 0xff;
    await writeFile(dataPath('covered/obj'), file);
    const inside = await sealed.get('covered/obj', { range: { start: 2 * CHUNK + 1, end: 2 * CHUNK + 100 } });
    expect((await readAll(inside.body)).equals(data.subarray(2 * CHUNK + 1, 2 * CHUNK + 101))).toBe(true);
    await expect(sealed.get('covered/obj', { range: { start: 5, end: 6 } })).rejects.toBeInstanceOf(CorruptionError);
  });

  describe('tampering fails the read with CorruptionError, never garbage', () => {
    const data = randomBytes(4 * CHUNK + 100);
    let pristine: Buffer;
    let pristineSidecar: string;
    beforeAll(async () => {
      await sealed.put('tamper/obj', data, { contentType: 'application/octet-stream' });
      pristine = await readFile(dataPath('tamper/obj'));
      pristineSidecar = await readFile(sidecarPath('tamper/obj'), 'utf8');
    });

    /** Writes a modified copy of the data file in place (same inode, so the sidecar still matches). */
    async function spoil(change: (file: Buffer) => Buffer): Promise<void> {
      await writeFile(dataPath('tamper/obj'), change(Buffer.from(pristine)));
      await writeFile(sidecarPath('tamper/obj'), pristineSidecar);
    }

    async function expectCorrupt(servedPrefixUpTo = 0): Promise<void> {
      let result: { bytes: Buffer; error?: unknown };
      try {
        result = await drain((await sealed.get('tamper/obj')).body);
      } catch (error) {
        result = { bytes: Buffer.alloc(0), error };
      }
      expect(result.error).toBeInstanceOf(CorruptionError);
      // Whatever was served before the failure is the genuine prefix, from intact frames only.
      expect(result.bytes.length).toBeLessThanOrEqual(servedPrefixUpTo);
      expect(result.bytes.equals(data.subarray(0, result.bytes.length))).toBe(true);
    }

    it('a flipped ciphertext byte in the middle frame', async () => {
      await spoil((file) => {
        file[HEADER_BYTES + 2 * FRAME + 17] ^= 0x01;
        return file;
      });
      await expectCorrupt(2 * CHUNK);
    });

    it('a flipped tag byte of the last frame', async () => {
      await spoil((file) => {
        file[file.length - 1] ^= 0x80;
        return file;
      });
      await expectCorrupt(4 * CHUNK);
    });

    it('a changed header byte (salt, chunk size, version)', async () => {
      for (const offset of [20, 15, 8]) {
        await spoil((file) => {
          file[offset] ^= 0x01;
          return file;
        });
        await expectCorrupt(0);
      }
    });

    it('truncation at a frame edge and inside a frame', async () => {
      await spoil((file) => file.subarray(0, HEADER_BYTES + 3 * FRAME));
      expect((await sealed.head('tamper/obj')).size).toBe(3 * CHUNK);
      await expectCorrupt(2 * CHUNK);
      await spoil((file) => file.subarray(0, HEADER_BYTES + 3 * FRAME + 5));
      await expect(sealed.head('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
      await expect(sealed.get('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
      await spoil((file) => file.subarray(0, HEADER_BYTES));
      await expect(sealed.get('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
    });

    it('an appended frame', async () => {
      await spoil((file) => Buffer.concat([file, file.subarray(HEADER_BYTES, HEADER_BYTES + FRAME)]));
      await expectCorrupt(4 * CHUNK);
    });

    it('two frames swapped, and a frame from another object', async () => {
      await spoil((file) => {
        const a = Buffer.from(file.subarray(HEADER_BYTES + FRAME, HEADER_BYTES + 2 * FRAME));
        file.copy(file, HEADER_BYTES + FRAME, HEADER_BYTES + 2 * FRAME, HEADER_BYTES + 3 * FRAME);
        a.copy(file, HEADER_BYTES + 2 * FRAME);
        return file;
      });
      await expectCorrupt(CHUNK);
      await sealed.put('tamper/other', data, { contentType: 'application/octet-stream' });
      const other = await readFile(dataPath('tamper/other'));
      await spoil((file) => {
        other.copy(file, HEADER_BYTES + FRAME, HEADER_BYTES + FRAME, HEADER_BYTES + 2 * FRAME);
        return file;
      });
      await expectCorrupt(CHUNK);
      // Even the whole file of another object under this object's envelope does not open.
      await spoil(() => Buffer.from(other));
      await expectCorrupt(0);
    });

    it('an envelope taken from another object, stripped, or the sidecar deleted', async () => {
      await sealed.put('tamper/third', randomBytes(10), { contentType: 'application/octet-stream' });
      const foreign = JSON.parse(await readFile(sidecarPath('tamper/third'), 'utf8')).encryption;
      await spoil((file) => file);
      const own = JSON.parse(pristineSidecar);
      await writeFile(sidecarPath('tamper/obj'), JSON.stringify({ ...own, encryption: foreign }));
      await expect(sealed.get('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
      await writeFile(sidecarPath('tamper/obj'), JSON.stringify({ ...own, encryption: undefined }));
      await expect(sealed.get('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
      await rm(sidecarPath('tamper/obj'));
      await expect(sealed.get('tamper/obj')).rejects.toBeInstanceOf(CorruptionError);
    });

    it('still reads the untouched object', async () => {
      await spoil((file) => file);
      expect((await readAll((await sealed.get('tamper/obj')).body)).equals(data)).toBe(true);
    });
  });

  it('keeps create-only and abort guarantees', async () => {
    const first = randomBytes(3000);
    await sealed.put('guard/once', first, { contentType: 'application/octet-stream', ifNotExists: true });
    await expect(sealed.put('guard/once', randomBytes(10), { contentType: 'text/plain', ifNotExists: true })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect((await readAll((await sealed.get('guard/once')).body)).equals(first)).toBe(true);

    const controller = new AbortController();
    const body = Readable.from(
      (async function* () {
        yield randomBytes(5000);
        controller.abort();
        yield randomBytes(5000);
      })(),
    );
    await expect(sealed.put('guard/aborted', body, { contentType: 'text/plain', signal: controller.signal })).rejects.toThrow();
    await expect(sealed.head('guard/aborted')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('copies and moves by re-encrypting under a fresh data key', async () => {
    const data = randomBytes(2500);
    await sealed.put('copy/src', data, { contentType: 'image/png', metadata: { a: 'b' } });
    await sealed.copy('copy/src', 'copy/dst');
    const info = await sealed.head('copy/dst');
    expect(info).toMatchObject({ size: 2500, contentType: 'image/png', metadata: { a: 'b' } });
    expect((await readAll((await sealed.get('copy/dst')).body)).equals(data)).toBe(true);
    const [src, dst] = await Promise.all([readFile(sidecarPath('copy/src'), 'utf8'), readFile(sidecarPath('copy/dst'), 'utf8')]);
    expect(JSON.parse(src).encryption.wrappedKey).not.toBe(JSON.parse(dst).encryption.wrappedKey);
  });

  it('rotates master keys: old objects still decrypt, re-wrap rewrites only the envelope', async () => {
    const rotRoot = join(dir.path, 'rotation');
    const before = await provider(rotRoot, { master_keys: { k1: K1 }, chunk_size: CHUNK });
    const old = randomBytes(4000);
    await before.put('rot/old', old, { contentType: 'application/octet-stream' });
    const plain = randomBytes(100);
    const unencrypted = await provider(rotRoot);
    await unencrypted.put('rot/plain', plain, { contentType: 'application/octet-stream' });

    const rotated = await provider(rotRoot, { master_keys: { k2: K2, k1: K1 }, active_key_id: 'k2', chunk_size: CHUNK });
    expect((await readAll((await rotated.get('rot/old')).body)).equals(old)).toBe(true);
    expect((await readAll((await rotated.get('rot/plain')).body)).equals(plain)).toBe(true);
    const fresh = randomBytes(1500);
    await rotated.put('rot/new', fresh, { contentType: 'application/octet-stream' });
    expect(JSON.parse(await readFile(join(rotRoot, LOCAL_INTERNAL_DIR, 'meta', 'rot/new.json'), 'utf8')).encryption.keyId).toBe('k2');

    // Without k1, the old object names the missing key clearly.
    const k2only = await provider(rotRoot, { master_keys: { k2: K2 }, chunk_size: CHUNK });
    await expect(k2only.get('rot/old')).rejects.toBeInstanceOf(EncryptionKeyUnavailableError);
    await expect(k2only.get('rot/old')).rejects.toThrow(/master key "k1", which is not in providers\.local\.config\.encryption\.master_keys/);

    const fileBefore = await readFile(join(rotRoot, 'rot/old'));
    const statBefore = await stat(join(rotRoot, 'rot/old'));
    expect(await rotated.rewrapKeys()).toEqual({ rewrapped: 1, current: 1, plaintext: 1 });
    const statAfter = await stat(join(rotRoot, 'rot/old'));
    expect((await readFile(join(rotRoot, 'rot/old'))).equals(fileBefore)).toBe(true);
    expect([statAfter.ino, statAfter.mtimeMs]).toEqual([statBefore.ino, statBefore.mtimeMs]);
    expect(await rotated.rewrapKeys()).toEqual({ rewrapped: 0, current: 2, plaintext: 1 });

    // k1 can now be retired.
    expect((await readAll((await k2only.get('rot/old')).body)).equals(old)).toBe(true);
    expect((await readAll((await k2only.get('rot/new', { range: { start: 1000, end: 1200 } })).body)).equals(fresh.subarray(1000, 1201))).toBe(true);
  });

  it('names the problem when the key is wrong or encryption is switched off', async () => {
    await sealed.put('keys/obj', randomBytes(10), { contentType: 'text/plain' });
    const impostor = await provider(root, { master_keys: { k1: K2 }, chunk_size: CHUNK });
    await expect(impostor.get('keys/obj')).rejects.toBeInstanceOf(EncryptionKeyUnavailableError);
    await expect(impostor.get('keys/obj')).rejects.toThrow(/Master key "k1" .* is not the key that encrypted/);
    const off = await provider(root);
    await expect(off.get('keys/obj')).rejects.toThrow(EncryptionKeyUnavailableError);
    await expect(off.get('keys/obj')).rejects.toThrow(/config\.encryption is not configured/);
    // head needs no key: sizes stay right.
    expect((await off.head('keys/obj')).size).toBe(10);
  });

  it('fails a damaged file on disk with a 500-class CorruptionError code', async () => {
    await sealed.put('code/obj', randomBytes(10), { contentType: 'text/plain' });
    await truncate(dataPath('code/obj'), HEADER_BYTES + 3);
    const error = await sealed.get('code/obj').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'E_CORRUPTION', status: 500 });
  });
});
