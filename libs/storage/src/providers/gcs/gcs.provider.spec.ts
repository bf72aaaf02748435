import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsEmulator, type GcsEmulator } from '../../../../../test/support/gcs-emulator.js';
import type { ByteRange } from '../../contract/index.js';
import {
  ObjectNotFoundError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
} from '../../errors/index.js';
import { readAll } from '../../streams/index.js';
import type { GcsProviderConfig } from './gcs.config.js';
import { GcsStorageProvider } from './gcs.provider.js';

// Behaviour against the Firebase Storage emulator. What it cannot check (preconditions, KMS,
// signatures) is covered by gcs.requests.spec.ts through the requests the provider sends.

let emulator: GcsEmulator;
let provider: GcsStorageProvider;
const bucket = `provider-${randomBytes(4).toString('hex')}`;

async function gcs(config: Partial<GcsProviderConfig> = {}): Promise<GcsStorageProvider> {
  const instance = new GcsStorageProvider();
  await instance.initialize({
    name: 'gcs',
    config: { bucket, project_id: emulator.projectId, api_endpoint: emulator.apiEndpoint, resumable_threshold: 64 * 1024, ...config },
  });
  return instance;
}

function uploadsOf(key: string): string[] {
  return emulator.requests
    .filter((request) => request.method === 'POST' && request.url.pathname.startsWith('/upload/') && request.url.searchParams.get('name') === key)
    .map((request) => request.url.searchParams.get('uploadType') ?? '');
}

async function* chunks(total: number, size = 16 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), sent % 251);
}

/** Yields some bytes, then fails: a client that disconnects mid-upload. */
async function* brokenAfter(bytes: number): AsyncGenerator<Buffer> {
  yield* chunks(bytes);
  await new Promise((resolve) => setTimeout(resolve, 20));
  throw new Error('client went away');
}

beforeAll(async () => {
  emulator = await startGcsEmulator();
  provider = await gcs();
});
afterAll(async () => {
  await emulator?.stop();
});

describe('GcsStorageProvider against the emulator', () => {
  it('stores a small Buffer in one request and reads back bytes, type, metadata and cache control', async () => {
    const body = Buffer.from('hello, cloud storage');
    const result = await provider.put('small/hello.txt', body, {
      contentType: 'text/plain; charset=utf-8',
      metadata: { board: 'b-1', 'generated-by': 'flux' },
      cacheControl: 'private, max-age=60',
    });
    expect(result).toMatchObject({ key: 'small/hello.txt', size: body.length });
    expect(uploadsOf('small/hello.txt')).toEqual(['multipart']);

    const { body: stream, info, range } = await provider.get('small/hello.txt');
    expect(range).toBeUndefined();
    expect(await readAll(stream)).toEqual(body);
    expect(info).toMatchObject({
      size: body.length,
      contentType: 'text/plain; charset=utf-8',
      metadata: { board: 'b-1', 'generated-by': 'flux' },
      cacheControl: 'private, max-age=60',
    });
    expect(info.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(await provider.head('small/hello.txt')).toEqual(info);
  });

  it('uses a resumable session for a body of unknown length, and for a known one over the threshold', async () => {
    const unknown = await provider.put('resumable/unknown.bin', Readable.from(chunks(200 * 1024)), { contentType: 'application/octet-stream' });
    expect(unknown.size).toBe(200 * 1024);
    expect(uploadsOf('resumable/unknown.bin')).toEqual(['resumable']);

    const bytes = randomBytes(300 * 1024);
    await provider.put('resumable/known.bin', Readable.from([bytes]), { contentType: 'application/octet-stream', contentLength: bytes.length });
    expect(uploadsOf('resumable/known.bin')).toEqual(['resumable']);
    const session = emulator.requests.find((r) => r.url.searchParams.get('name') === 'resumable/known.bin');
    expect(session?.headers['x-upload-content-length']).toBe(String(bytes.length));

    const { body } = await provider.get('resumable/known.bin');
    const digest = createHash('sha256').update(await readAll(body)).digest('hex');
    expect(digest).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('stores and reads an empty object', async () => {
    await provider.put('empty', Buffer.alloc(0), { contentType: 'application/octet-stream' });
    const { body, info } = await provider.get('empty');
    expect(info.size).toBe(0);
    expect((await readAll(body)).length).toBe(0);
    await expect(provider.get('empty', { range: { suffix: 1 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it('reads ranges, resolving suffix ranges against the size, and refuses unsatisfiable ones', async () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    await provider.put('ranges/text', bytes, { contentType: 'text/plain' });
    const read = async (range: ByteRange) => {
      const result = await provider.get('ranges/text', { range });
      return { bytes: (await readAll(result.body)).toString(), range: result.range };
    };
    expect(await read({ start: 0, end: 0 })).toEqual({ bytes: '0', range: { start: 0, end: 0, total: 20 } });
    expect(await read({ start: 5, end: 9 })).toEqual({ bytes: '56789', range: { start: 5, end: 9, total: 20 } });
    expect(await read({ start: 15 })).toEqual({ bytes: 'fghij', range: { start: 15, end: 19, total: 20 } });
    expect(await read({ suffix: 3 })).toEqual({ bytes: 'hij', range: { start: 17, end: 19, total: 20 } });
    expect(await read({ start: 18, end: 500 })).toEqual({ bytes: 'ij', range: { start: 18, end: 19, total: 20 } });
    const error = await provider.get('ranges/text', { range: { start: 20 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).size).toBe(20);
  });

  it('reports missing objects as ObjectNotFoundError and deleting them is not an error', async () => {
    await expect(provider.head('missing/one')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(provider.get('missing/one')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await provider.exists('missing/one')).toBe(false);
    await expect(provider.delete('missing/one')).resolves.toBeUndefined();

    await provider.put('missing/two', Buffer.from('x'), { contentType: 'text/plain' });
    expect(await provider.exists('missing/two')).toBe(true);
    await provider.delete('missing/two');
    expect(await provider.exists('missing/two')).toBe(false);
  });

  it('lists by prefix in pages that neither skip nor repeat while keys are added', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `list/item-${i}`);
    for (const key of keys) await provider.put(key, Buffer.from(key), { contentType: 'text/plain' });
    await provider.put('listing-other', Buffer.from('no'), { contentType: 'text/plain' });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await provider.list({ prefix: 'list/', limit: 3, cursor });
      seen.push(...page.items.map((item) => item.key));
      cursor = page.cursor;
      if (pages++ === 0) await provider.put('list/item-9', Buffer.from('late'), { contentType: 'text/plain' });
    } while (cursor);
    expect(seen).toEqual([...keys, 'list/item-9']);
    expect(pages).toBe(3);

    const first = await provider.list({ prefix: 'list/item-0' });
    expect(first.items).toHaveLength(1);
    expect(first.items[0]).toMatchObject({ key: 'list/item-0', size: 11, contentType: 'text/plain' });
    expect(first.cursor).toBeUndefined();
  });

  it('copies and moves objects on the server, keeping type and metadata', async () => {
    await provider.put('copy/source', Buffer.from('copied bytes'), { contentType: 'image/png', metadata: { seed: '42' } });
    await provider.copy('copy/source', 'copy/destination');
    const copied = await provider.get('copy/destination');
    expect((await readAll(copied.body)).toString()).toBe('copied bytes');
    expect(copied.info).toMatchObject({ contentType: 'image/png', metadata: { seed: '42' } });
    expect(emulator.requests.some((r) => r.url.pathname.includes('/rewriteTo/'))).toBe(true);

    await provider.move('copy/destination', 'copy/moved');
    expect(await provider.exists('copy/destination')).toBe(false);
    expect((await provider.head('copy/moved')).size).toBe(12);
    await expect(provider.copy('copy/nothing', 'copy/else')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it.each([
    ['one request', 8 * 1024, 10 * 1024],
    ['a resumable session of known length', 256 * 1024, 512 * 1024],
    ['a resumable session of unknown length', 256 * 1024, undefined],
  ])('a body that fails midway through %s leaves no object and the old one intact', async (_, sentBytes, declared) => {
    const key = `failed/${declared ?? 'unknown'}`;
    await provider.put(key, Buffer.from('previous version'), { contentType: 'text/plain' });
    const error = await provider
      .put(key, Readable.from(brokenAfter(sentBytes)), { contentType: 'text/plain', contentLength: declared })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('client went away');
    expect((await readAll((await provider.get(key)).body)).toString()).toBe('previous version');

    await expect(
      provider.put(`${key}-new`, Readable.from(brokenAfter(sentBytes)), { contentType: 'text/plain', contentLength: declared }),
    ).rejects.toThrow('client went away');
    expect(await provider.exists(`${key}-new`)).toBe(false);
  });

  it('an aborted upload leaves no object and the old one intact', async () => {
    await provider.put('aborted/key', Buffer.from('keep me'), { contentType: 'text/plain' });
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 200; i++) {
        if (i === 5) controller.abort();
        yield Buffer.alloc(8 * 1024, i);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const error = await provider
      .put('aborted/key', Readable.from(slow()), { contentType: 'text/plain', signal: controller.signal })
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect((await readAll((await provider.get('aborted/key')).body)).toString()).toBe('keep me');
  });

  it('aborting a download destroys its stream', async () => {
    await provider.put('download/abort', randomBytes(128 * 1024), { contentType: 'application/octet-stream' });
    const controller = new AbortController();
    const { body } = await provider.get('download/abort', { signal: controller.signal });
    controller.abort();
    await expect(readAll(body)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a reader that stops early does not disturb other requests in flight', async () => {
    await provider.put('download/early-stop', randomBytes(256 * 1024), { contentType: 'application/octet-stream' });
    async function* slowBody(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) {
        yield Buffer.alloc(16 * 1024, i);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const upload = provider.put('download/concurrent-upload', Readable.from(slowBody()), { contentType: 'application/octet-stream' });
    const { body } = await provider.get('download/early-stop');
    for await (const _chunk of body) break; // stop after the first chunk
    await expect(upload).resolves.toMatchObject({ size: 20 * 16 * 1024 });
    await expect(provider.ping()).resolves.toBeUndefined();
  });

  it('pings up when the emulator answers and down, with a reason, when nothing listens', async () => {
    await expect(provider.ping()).resolves.toBeUndefined();
    const unreachable = await gcs({ api_endpoint: 'http://127.0.0.1:9' });
    const error = await unreachable.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toMatch(/unreachable|ECONNREFUSED/);
    await expect(unreachable.head('x')).rejects.toBeInstanceOf(ProviderUnavailableError);
  });
});
