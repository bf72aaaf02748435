import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { AlreadyExistsError, ChecksumMismatchError, IncompleteBodyError, InvalidArgumentError, RangeNotSatisfiableError, type ByteRange, type StorageProvider } from '@app/storage';
import type { ConformanceCheck } from '../conformance.types.js';
import type { ConformanceRun } from '../suite.js';
import { KiB, MiB, RetainedMemoryMeter, bytesOf, digestStream, failingBody, generatedBody, readableOf, sha256 } from '../support.js';

/** Fixed memory the large case may use whatever its size: SDK part buffers, sockets, chunks in flight. */
const LARGE_OBJECT_MEMORY_BOUND = 48 * MiB;

async function expectStored(provider: StorageProvider, key: string, expected: Buffer, contentType?: string): Promise<void> {
  const { body, info } = await provider.get(key);
  const bytes = await bytesOf(body);
  expect(bytes.length).toBe(expected.length);
  expect(sha256(bytes)).toBe(sha256(expected));
  expect(info.size).toBe(expected.length);
  if (contentType) expect(info.contentType).toBe(contentType);
}

export function defineDataCases(run: ConformanceRun): void {
  run.case('upload from a Buffer round-trips bytes and sha256', {}, async (_env, provider) => {
    const key = run.key('data', 'buffer.bin');
    const data = randomBytes(300 * KiB + 7);
    const result = await provider.put(key, data, { contentType: 'application/octet-stream', contentLength: data.length });
    expect(result).toMatchObject({ key, size: data.length });
    await expectStored(provider, key, data, 'application/octet-stream');
  });

  run.case('upload from a Readable round-trips bytes and sha256', {}, async (_env, provider) => {
    const key = run.key('data', 'readable.bin');
    const chunks = Array.from({ length: 8 }, () => randomBytes(100 * KiB + 1));
    const data = Buffer.concat(chunks);
    const result = await provider.put(key, readableOf(chunks), { contentType: 'application/octet-stream', contentLength: data.length });
    expect(result.size).toBe(data.length);
    await expectStored(provider, key, data);
  });

  run.case('upload from an async iterable of unknown length round-trips (beyond one multipart part)', {}, async (_env, provider) => {
    const key = run.key('data', 'iterable.bin');
    // Over 5 MiB with no length given: a multipart backend has to start parts without knowing the size.
    const chunks = Array.from({ length: 104 }, () => randomBytes(64 * KiB));
    async function* source(): AsyncGenerator<Uint8Array> {
      for (const chunk of chunks) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    const result = await provider.put(key, source(), { contentType: 'application/octet-stream' });
    expect(result.size).toBe(104 * 64 * KiB);
    await expectStored(provider, key, Buffer.concat(chunks));
  });

  run.case('a stream of unknown length that ends on a part or chunk boundary round-trips', { timeout: 120_000 }, async (_env, provider) => {
    // Exactly 5 MiB (S3's smallest part), 6 MiB (Supabase's resumable chunk) and 12 MiB (two of
    // them): a backend that sends parts must notice the end with no byte after the boundary.
    for (const size of [5 * MiB, 6 * MiB, 12 * MiB]) {
      const key = run.key('boundary', `${size}.bin`);
      const chunks = Array.from({ length: size / (64 * KiB) }, () => randomBytes(64 * KiB));
      async function* source(): AsyncGenerator<Uint8Array> {
        yield* chunks;
      }
      const result = await provider.put(key, source(), { contentType: 'application/octet-stream' });
      expect(result.size, `${size} bytes`).toBe(size);
      await expectStored(provider, key, Buffer.concat(chunks));
    }
  });

  run.case('content type survives upload, head and download', {}, async (_env, provider) => {
    const key = run.key('data', 'typed.json');
    await provider.put(key, Buffer.from('{"a":1}'), { contentType: 'application/json' });
    expect((await provider.head(key)).contentType).toBe('application/json');
    const { info, body } = await provider.get(key);
    body.destroy();
    expect(info.contentType).toBe('application/json');
  });

  run.case('user metadata survives upload, head and download', { needs: ['userMetadata'] }, async (_env, provider) => {
    const key = run.key('data', 'metadata.txt');
    const metadata = { origin: 'conformance', caption: 'a caption = with, punctuation', 'job-id': 'j-42' };
    await provider.put(key, Buffer.from('m'), { contentType: 'text/plain', metadata });
    expect((await provider.head(key)).metadata).toEqual(metadata);
    const { info, body } = await provider.get(key);
    body.destroy();
    expect(info.metadata).toEqual(metadata);
  });

  run.case('an empty object round-trips', {}, async (_env, provider) => {
    const key = run.key('data', 'empty');
    const result = await provider.put(key, Buffer.alloc(0), { contentType: 'text/plain', contentLength: 0 });
    expect(result.size).toBe(0);
    expect(await provider.exists(key)).toBe(true);
    expect((await provider.head(key)).size).toBe(0);
    await expectStored(provider, key, Buffer.alloc(0));
  });

  run.case('a large object streams up and down within a memory bound', { timeout: 240_000 }, async (_env, provider) => {
    const size = run.target.largeObjectBytes ?? 100 * MiB;
    const key = run.key('data', 'large.bin');
    const meter = new RetainedMemoryMeter();
    meter.start();
    let chunks = 0;
    const sampleEvery4MiB = () => {
      if (++chunks % 4 === 0) meter.sample();
    };
    const generated = generatedBody(size, 1 * MiB, sampleEvery4MiB);
    const put = await provider.put(key, Readable.from(generated.iterable, { objectMode: false }), {
      contentType: 'application/octet-stream',
      contentLength: size,
    });
    expect(put.size).toBe(size);
    const sent = generated.digest();
    const { body, info } = await provider.get(key);
    expect(info.size).toBe(size);
    let seen = 0;
    const read = await digestStream(body, () => {
      seen++;
      if (seen % 64 === 0) meter.sample();
    });
    meter.sample();
    expect(read).toEqual({ size, sha256: sent });
    const { growth, rssGrowth, samples } = meter.result();
    const bound = LARGE_OBJECT_MEMORY_BOUND + (run.target.largeObjectRetainedBytes ?? 0);
    console.info(
      `[conformance ${run.target.name}] ${size / MiB} MiB object: retained memory peak +${(growth / MiB).toFixed(1)} MiB ` +
        `(bound ${bound / MiB} MiB), RSS peak +${(rssGrowth / MiB).toFixed(1)} MiB, ${samples} samples`,
    );
    expect(growth).toBeLessThan(bound);
    await provider.delete(key);
  });

  const rangeObject = randomBytes(1000);
  const rangeCase = (name: string, range: ByteRange, start: number, end: number, needs: ConformanceCheck[] = []) =>
    run.case(name, { needs: ['rangeRead', ...needs] }, async (_env, provider) => {
      const key = run.key('ranges', `${name.replace(/\W+/g, '-')}.bin`);
      await provider.put(key, rangeObject, { contentType: 'application/octet-stream' });
      const { body, info, range: resolved } = await provider.get(key, { range });
      const bytes = await bytesOf(body);
      expect(resolved).toEqual({ start, end, total: 1000 });
      expect(info.size).toBe(1000);
      expect(bytes.equals(rangeObject.subarray(start, end + 1))).toBe(true);
    });
  rangeCase('range 0-0 reads the first byte only', { start: 0, end: 0 }, 0, 0, ['singleByteRange']);
  rangeCase('range a-b reads bytes a to b inclusive', { start: 100, end: 199 }, 100, 199);
  rangeCase('range a-b past the end is clamped to the last byte', { start: 990, end: 5000 }, 990, 999);
  rangeCase('range a- reads to the end', { start: 900 }, 900, 999);
  rangeCase('range -N reads the last N bytes', { suffix: 10 }, 990, 999, ['suffixRange']);
  run.case('an unsatisfiable range throws RangeNotSatisfiableError', { needs: ['rangeRead'] }, async (_env, provider) => {
    const key = run.key('ranges', 'unsatisfiable.bin');
    await provider.put(key, rangeObject, { contentType: 'application/octet-stream' });
    await expect(provider.get(key, { range: { start: 1000 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    await expect(provider.get(key, { range: { start: 5000, end: 6000 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  run.case('create-only upload creates when absent, refuses to overwrite and keeps the old object', { needs: ['createOnly'] }, async (_env, provider) => {
    const key = run.key('create-only', 'claimed.txt');
    await provider.put(key, Buffer.from('first'), { contentType: 'text/plain', ifNotExists: true });
    await expect(
      provider.put(key, Buffer.from('second, longer'), { contentType: 'application/json', ifNotExists: true }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    await expectStored(provider, key, Buffer.from('first'), 'text/plain');
  });

  run.case('an upload whose body fails midway leaves no object', {}, async (_env, provider) => {
    const key = run.key('failed', 'no-object.bin');
    // Past 5 MiB so a multipart backend has parts to abort.
    // The body's own error reaches the caller, not a backend error made of it.
    await expect(provider.put(key, failingBody(6 * MiB), { contentType: 'application/octet-stream' })).rejects.toThrow('simulated client failure mid-body');
    expect(await provider.exists(key)).toBe(false);
  });

  run.case('an upload whose body fails midway leaves the previous object intact', {}, async (_env, provider) => {
    const key = run.key('failed', 'kept.txt');
    await provider.put(key, Buffer.from('the previous object'), { contentType: 'text/plain' });
    // The body's own error reaches the caller, not a backend error made of it.
    await expect(provider.put(key, failingBody(6 * MiB), { contentType: 'application/octet-stream' })).rejects.toThrow('simulated client failure mid-body');
    await expectStored(provider, key, Buffer.from('the previous object'), 'text/plain');
  });

  run.case('an upload that matches its expected sha256 is stored', {}, async (_env, provider) => {
    const key = run.key('checksum', 'matching.bin');
    const chunks = Array.from({ length: 7 }, () => randomBytes(MiB));
    const data = Buffer.concat(chunks);
    await provider.put(key, readableOf(chunks), { contentType: 'application/octet-stream', sha256: sha256(data).toUpperCase() });
    await expectStored(provider, key, data);
    const small = Buffer.from('checked at once');
    await provider.put(key, small, { contentType: 'text/plain', sha256: sha256(small) });
    await expectStored(provider, key, small, 'text/plain');
    // A small stream of declared length: a backend may take it in one request.
    const declared = randomBytes(64 * KiB);
    await provider.put(key, readableOf([declared]), { contentType: 'application/octet-stream', contentLength: declared.length, sha256: sha256(declared) });
    await expectStored(provider, key, declared);
  });

  run.case('an upload that does not match its expected sha256 is refused and leaves no object, the previous one intact', {}, async (_env, provider) => {
    const fresh = run.key('checksum', 'fresh.bin');
    const kept = run.key('checksum', 'kept.txt');
    await provider.put(kept, Buffer.from('the previous object'), { contentType: 'text/plain' });
    const other = sha256('something else');
    for (const key of [fresh, kept]) {
      // Past 5 MiB, so a multipart backend has parts to abort: the mismatch is known only at the end.
      const chunks = Array.from({ length: 7 }, () => randomBytes(MiB));
      await expect(provider.put(key, readableOf(chunks), { contentType: 'application/octet-stream', sha256: other })).rejects.toBeInstanceOf(ChecksumMismatchError);
      await expect(provider.put(key, Buffer.from('a buffer'), { contentType: 'text/plain', sha256: other })).rejects.toBeInstanceOf(ChecksumMismatchError);
      // A small stream of declared length, which a backend may take in one request.
      const declared = randomBytes(64 * KiB);
      await expect(
        provider.put(key, readableOf([declared]), { contentType: 'application/octet-stream', contentLength: declared.length, sha256: other }),
      ).rejects.toBeInstanceOf(ChecksumMismatchError);
    }
    expect(await provider.exists(fresh)).toBe(false);
    await expectStored(provider, kept, Buffer.from('the previous object'), 'text/plain');
    await expect(provider.put(fresh, Buffer.from('x'), { contentType: 'text/plain', sha256: 'not-a-digest' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  run.case('a body that fails after its last declared byte leaves no object, the previous one intact', {}, async (_env, provider) => {
    const fresh = run.key('late-failure', 'fresh.bin');
    const kept = run.key('late-failure', 'kept.txt');
    await provider.put(kept, Buffer.from('the previous object'), { contentType: 'text/plain' });
    // Every declared byte arrives, then the body fails: a backend that stores an upload once the
    // declared bytes are in must not get the last of them before the body has ended.
    async function* lateFailure(chunks: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < chunks; i++) yield randomBytes(MiB);
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('the client went away after its last byte');
    }
    for (const key of [fresh, kept]) {
      for (const chunks of [1, 7]) {
        await expect(provider.put(key, lateFailure(chunks), { contentType: 'application/octet-stream', contentLength: chunks * MiB })).rejects.toThrow(
          'the client went away after its last byte',
        );
      }
    }
    expect(await provider.exists(fresh)).toBe(false);
    await expectStored(provider, kept, Buffer.from('the previous object'), 'text/plain');
  });

  run.case('a body shorter or longer than its declared length is refused and leaves no object, the previous one intact', {}, async (_env, provider) => {
    const fresh = run.key('declared', 'fresh.bin');
    const kept = run.key('declared', 'kept.txt');
    await provider.put(kept, Buffer.from('the previous object'), { contentType: 'text/plain' });
    for (const key of [fresh, kept]) {
      for (const [size, declared] of [
        [64 * KiB, 64 * KiB + 1],
        [64 * KiB, 64 * KiB - 1],
        [7 * MiB, 7 * MiB + 1],
        [7 * MiB, 6 * MiB],
      ]) {
        const body = readableOf([randomBytes(size / 2), randomBytes(size / 2)]);
        await expect(provider.put(key, body, { contentType: 'application/octet-stream', contentLength: declared }), `${size} declared ${declared}`).rejects.toBeInstanceOf(
          IncompleteBodyError,
        );
      }
      await expect(provider.put(key, Buffer.from('five!'), { contentType: 'text/plain', contentLength: 4 })).rejects.toBeInstanceOf(IncompleteBodyError);
    }
    expect(await provider.exists(fresh)).toBe(false);
    await expectStored(provider, kept, Buffer.from('the previous object'), 'text/plain');
  });

  run.case('an abort at any moment either stops the upload or lets it finish, and put says which', {}, async (_env, provider) => {
    // An abort that comes after the last byte was sent may be too late to stop the upload; then
    // put must not reject as if nothing had been stored.
    const data = randomBytes(12 * MiB);
    for (const delay of [0, 1, 3, 10, 30, 100]) {
      const key = run.key('abort-timing', `after-${delay}ms.bin`);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('cancelled')), delay);
      const outcome = await provider.put(key, readableOf([data]), { contentType: 'application/octet-stream', signal: controller.signal }).then(
        () => 'stored',
        () => 'refused',
      );
      clearTimeout(timer);
      // Give an upload that went on regardless the time to land.
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (outcome === 'stored') await expectStored(provider, key, data);
      else expect(await provider.exists(key), `refused after ${delay} ms, yet stored`).toBe(false);
    }
  });

  run.case('an aborted upload leaves no object and the previous object intact', {}, async (_env, provider) => {
    const fresh = run.key('aborted', 'fresh.bin');
    const kept = run.key('aborted', 'kept.txt');
    await provider.put(kept, Buffer.from('the previous object'), { contentType: 'text/plain' });
    for (const key of [fresh, kept]) {
      const controller = new AbortController();
      // Aborts after ~6 MiB, then keeps offering bytes: a provider that ignores the signal would finish the upload.
      async function* body(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 48; i++) {
          if (i === 24) controller.abort(new Error('upload cancelled by the client'));
          yield randomBytes(256 * KiB);
        }
      }
      await expect(provider.put(key, body(), { contentType: 'application/octet-stream', signal: controller.signal })).rejects.toThrow();
    }
    expect(await provider.exists(fresh)).toBe(false);
    await expectStored(provider, kept, Buffer.from('the previous object'), 'text/plain');
  });
}
