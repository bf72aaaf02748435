import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  AlreadyExistsError,
  ConfigurationError,
  IncompleteBodyError,
  InvalidArgumentError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  ProviderUnavailableError,
  RangeNotSatisfiableError,
  UnauthenticatedError,
  UnsupportedOperationError,
  readAll,
  validatePlain,
} from '@app/storage';
import { getProviderTypeMetadata } from '../../contract/index.js';
import { DoubleAuth } from '../../../../../test/support/supabase-double/auth.js';
import { startSupabaseBackend, SUPABASE_PUBLIC_BUCKET } from '../../../../../test/support/supabase.js';
import { BUILT_IN_PROVIDER_TYPES } from '../builtin-types.js';
import { SupabaseProviderConfig } from './supabase.config.js';
import type { SupabaseStorageProvider } from './supabase.provider.js';

let backend: Awaited<ReturnType<typeof startSupabaseBackend>>;
let provider: SupabaseStorageProvider;

beforeAll(async () => {
  backend = await startSupabaseBackend();
  // A low threshold so that the resumable path is exercised with small bodies too.
  provider = await backend.provider({ tus_threshold_bytes: 64 * 1024, tus_chunk_bytes: 256 * 1024 });
});

afterAll(async () => {
  await backend?.double.stop();
});

const text = async (key: string, p = provider) => (await readAll((await p.get(key)).body)).toString('utf8');
const requestsSince = (mark: number) => backend.double.requests.slice(mark);

async function* failing(bytes: number, error: Error, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < bytes; sent += chunk) yield randomBytes(chunk);
  throw error;
}

describe('supabase provider: configuration', () => {
  it('reports missing and malformed keys with their paths, and unknown options', () => {
    const { problems } = validatePlain(SupabaseProviderConfig, { url: 'not a url', bucket: '', tus_chunk_bytes: 12, extra: 1 }, 'providers.sb.config');
    expect(problems).toEqual(
      expect.arrayContaining([
        'providers.sb.config.url: must be the http(s) URL of the Supabase project',
        expect.stringMatching(/^providers\.sb\.config\.key: /),
        expect.stringMatching(/^providers\.sb\.config\.bucket: /),
        expect.stringMatching(/^providers\.sb\.config\.tus_chunk_bytes: /),
        'providers.sb.config.extra: is not a known option',
      ]),
    );
    const ok = validatePlain(SupabaseProviderConfig, { url: 'http://127.0.0.1:54321', key: 'k', bucket: 'b', public: true }, 'p');
    expect(ok.problems).toEqual([]);
  });

  it('is a built-in type loaded on demand, naming its packages', async () => {
    const entry = BUILT_IN_PROVIDER_TYPES.supabase;
    expect(entry.packages).toEqual(['@supabase/storage-js@2.109.0', 'tus-js-client@^4']);
    const cls = await entry.load();
    expect(getProviderTypeMetadata(cls)).toMatchObject({ type: 'supabase', config: SupabaseProviderConfig });
  });
});

describe('supabase provider: uploads', () => {
  it('sends small bodies in one request and keeps type, metadata and cache control', async () => {
    const mark = backend.double.requests.length;
    const key = 'up/small.json';
    const result = await provider.put(key, Buffer.from('{"a":1}'), {
      contentType: 'application/json',
      metadata: { origin: 'spec', 'job-id': 'j 1', snake_case: 'kept' },
      cacheControl: 'public, max-age=60',
    });
    expect(result).toEqual({ key, size: 7 });
    expect(requestsSince(mark)).toEqual([`POST /object/boards-artifacts/up/small.json`]);
    expect(await provider.head(key)).toMatchObject({
      key,
      size: 7,
      contentType: 'application/json',
      cacheControl: 'public, max-age=60',
      metadata: { origin: 'spec', 'job-id': 'j 1', snake_case: 'kept' },
    });
  });

  it('streams large and unknown-length bodies through TUS, counting what was sent', async () => {
    const mark = backend.double.requests.length;
    const chunks = Array.from({ length: 5 }, () => randomBytes(100_000));
    const result = await provider.put('up/streamed.bin', Readable.from(chunks), { contentType: 'application/octet-stream', cacheControl: 'max-age=30', metadata: { a: 'b' } });
    expect(result.size).toBe(500_000);
    const sent = requestsSince(mark);
    expect(sent[0]).toBe('POST /upload/resumable');
    expect(sent.filter((line) => line.startsWith('PATCH /upload/resumable/')).length).toBe(2); // 256 KiB chunks
    expect((await readAll((await provider.get('up/streamed.bin')).body, 1e6)).equals(Buffer.concat(chunks))).toBe(true);
    expect(await provider.head('up/streamed.bin')).toMatchObject({ cacheControl: 'max-age=30', metadata: { a: 'b' } });
  });

  it('refuses a create-only upload on both paths, keeping the old object', async () => {
    await provider.put('up/claimed.txt', Buffer.from('first'), { contentType: 'text/plain', ifNotExists: true });
    await expect(provider.put('up/claimed.txt', Buffer.from('second'), { contentType: 'text/plain', ifNotExists: true })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    await expect(
      provider.put('up/claimed.txt', Readable.from([randomBytes(100_000)]), { contentType: 'text/plain', ifNotExists: true }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await text('up/claimed.txt')).toBe('first');
    await provider.put('up/claimed.txt', Buffer.from('replaced'), { contentType: 'text/plain' });
    expect(await text('up/claimed.txt')).toBe('replaced');
  });

  it('rethrows the body failure itself and terminates the unfinished resumable upload', async () => {
    await provider.put('up/kept.txt', Buffer.from('previous'), { contentType: 'text/plain' });
    const mark = backend.double.requests.length;
    const limit = new PayloadTooLargeError(1000);
    await expect(provider.put('up/kept.txt', failing(600_000, limit), { contentType: 'text/plain' })).rejects.toBe(limit);
    // The termination is sent without waiting for it: wait for it to arrive.
    const terminated = () => requestsSince(mark).some((line) => line.startsWith('DELETE /upload/resumable/'));
    for (let waited = 0; !terminated() && waited < 5000; waited += 10) await sleep(10);
    expect(terminated()).toBe(true);
    expect(await text('up/kept.txt')).toBe('previous');
    const small = new Error('client went away');
    await expect(provider.put('up/kept.txt', failing(20_000, small, 5_000), { contentType: 'text/plain', contentLength: 40_000 })).rejects.toBe(small);
    expect(await text('up/kept.txt')).toBe('previous');
    expect(await provider.exists('up/never.txt')).toBe(false);
  });

  it('reports a stream shorter than its declared length as IncompleteBodyError on both paths', async () => {
    const short = () => Readable.from([Buffer.alloc(1000)]);
    await expect(provider.put('up/short-one.bin', short(), { contentType: 'application/octet-stream', contentLength: 2000 })).rejects.toBeInstanceOf(
      IncompleteBodyError,
    );
    await expect(provider.put('up/short-tus.bin', short(), { contentType: 'application/octet-stream', contentLength: 100_000 })).rejects.toBeInstanceOf(
      IncompleteBodyError,
    );
    expect(await provider.exists('up/short-one.bin')).toBe(false);
    expect(await provider.exists('up/short-tus.bin')).toBe(false);
  });

  it('stops on abort with the signal reason and leaves no object', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 20; i++) {
        if (i === 8) controller.abort(reason);
        yield randomBytes(64 * 1024);
      }
    }
    await expect(provider.put('up/aborted.bin', body(), { contentType: 'application/octet-stream', signal: controller.signal })).rejects.toBe(reason);
    expect(await provider.exists('up/aborted.bin')).toBe(false);
  });

  it('maps the bucket size limit to PayloadTooLargeError', async () => {
    backend.double.store.createBucket({ id: 'tiny', file_size_limit: 10 });
    const tiny = await backend.provider({ bucket: 'tiny' });
    await expect(tiny.put('big.txt', Buffer.alloc(11), { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'E_TOO_LARGE', limit: 10 });
    expect(await tiny.exists('big.txt')).toBe(false);
  });
});

describe('supabase provider: reads', () => {
  const data = randomBytes(1000);
  beforeAll(async () => {
    await provider.put('read/r.bin', data, { contentType: 'application/octet-stream' });
  });

  it.each([
    [{ start: 0, end: 0 }, 0, 0],
    [{ start: 10, end: 19 }, 10, 19],
    [{ start: 990, end: 5000 }, 990, 999],
    [{ start: 900 }, 900, 999],
    [{ suffix: 10 }, 990, 999],
  ])('reads range %j as explicit bounds', async (range, start, end) => {
    const { body, range: resolved, info } = await provider.get('read/r.bin', { range });
    expect(resolved).toEqual({ start, end, total: 1000 });
    expect(info.size).toBe(1000);
    expect((await readAll(body)).equals(data.subarray(start, end + 1))).toBe(true);
  });

  it('refuses an unsatisfiable range before downloading, and reports missing objects', async () => {
    const mark = backend.double.requests.length;
    await expect(provider.get('read/r.bin', { range: { start: 1000 } })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    expect(requestsSince(mark)).toEqual(['GET /object/info/boards-artifacts/read/r.bin']);
    await expect(provider.get('read/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(provider.head('read/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await provider.exists('read/missing')).toBe(false);
  });
});

describe('supabase provider: object operations', () => {
  it('deletes (a missing key is fine), copies over an existing key, and moves over one too', async () => {
    await provider.delete('ops/none');
    await provider.put('ops/a.txt', Buffer.from('A'), { contentType: 'text/markdown', metadata: { m: '1' } });
    await provider.put('ops/b.txt', Buffer.from('B'), { contentType: 'text/plain' });
    await provider.copy('ops/a.txt', 'ops/b.txt');
    expect(await text('ops/b.txt')).toBe('A');
    expect(await provider.head('ops/b.txt')).toMatchObject({ contentType: 'text/markdown', metadata: { m: '1' } });
    await provider.put('ops/c.txt', Buffer.from('C'), { contentType: 'text/plain' });
    await provider.move('ops/c.txt', 'ops/b.txt');
    expect(await text('ops/b.txt')).toBe('C');
    expect(await provider.exists('ops/c.txt')).toBe(false);
    await expect(provider.copy('ops/none', 'ops/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(provider.move('ops/none', 'ops/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('lists by a raw prefix across folders, in pages, and refuses a foreign cursor', async () => {
    const keys = ['lst/ab', 'lst/abc/1', 'lst/abc/2/deep', 'lst/ab/x', 'lst/b', 'lst/aB-upper'];
    for (const key of keys) await provider.put(key, Buffer.from(key), { contentType: 'text/plain' });
    const all = await provider.list({ prefix: 'lst/ab' });
    expect(all.items.map((item) => item.key)).toEqual(['lst/ab', 'lst/ab/x', 'lst/abc/1', 'lst/abc/2/deep']);
    expect(all.cursor).toBeUndefined();
    expect(all.items[0]).toMatchObject({ size: 6, contentType: 'text/plain' });

    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await provider.list({ prefix: 'lst/', limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((item) => item.key));
      cursor = page.cursor;
    } while (cursor);
    // The API's order: case-folded names as bytes ("-" before "/"), folders walked depth first.
    expect(paged).toEqual(['lst/ab', 'lst/aB-upper', 'lst/ab/x', 'lst/abc/1', 'lst/abc/2/deep', 'lst/b']);
    await expect(provider.list({ prefix: 'lst/', cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('supabase provider: URLs', () => {
  it('signs downloads that work without credentials, with an attachment name, and expire', async () => {
    await provider.put('url/ünï file.txt', Buffer.from('signed'), { contentType: 'text/plain' });
    const request = await provider.presignDownload('url/ünï file.txt', { expiresIn: 60, filename: 'naïve name.txt' });
    expect(request).toMatchObject({ method: 'GET', headers: {} });
    expect(Math.abs(request.expiresAt.getTime() - (Date.now() + 60_000))).toBeLessThan(5000);
    const response = await fetch(request.url);
    expect(response.status).toBe(200);
    expect(decodeURIComponent(response.headers.get('content-disposition') ?? '')).toContain('naïve name.txt');
    expect(await response.text()).toBe('signed');

    const short = await provider.presignDownload('url/ünï file.txt', { expiresIn: 1 });
    await sleep(short.expiresAt.getTime() - Date.now() + 1100);
    expect((await fetch(short.url)).status).toBe(400);
  });

  it('refuses what Supabase cannot sign', async () => {
    await expect(provider.presignDownload('url/x', { expiresIn: 60, responseContentType: 'text/plain' })).rejects.toBeInstanceOf(UnsupportedOperationError);
    await expect(provider.presignDownload('url/what?.txt', { expiresIn: 60 })).rejects.toBeInstanceOf(UnsupportedOperationError);
    await expect(provider.presignDownload('url/missing.txt', { expiresIn: 60 })).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('signs uploads: a PUT with the declared type, valid for the server-set lifetime', async () => {
    const request = await provider.presignUpload('url/direct.png', { expiresIn: 60, contentType: 'image/png' });
    expect(request).toMatchObject({ method: 'PUT', headers: { 'content-type': 'image/png' } });
    expect(request.expiresAt.getTime() - Date.now()).toBeGreaterThan(60 * 60 * 1000); // 2 h, fixed by the server
    const png = Buffer.from('89504e470d0a1a0a00', 'hex');
    const response = await fetch(request.url, { method: 'PUT', headers: request.headers, body: png });
    expect(response.status).toBe(200);
    expect(await provider.head('url/direct.png')).toMatchObject({ size: png.length, contentType: 'image/png' });
  });

  it('gives public URLs only for public buckets (detected or configured)', async () => {
    expect(provider.publicUrl('a')).toBeUndefined();
    expect(provider.capabilities.publicUrl).toBe('the bucket is not public');
    const pub = await backend.provider({ bucket: SUPABASE_PUBLIC_BUCKET });
    expect(pub.capabilities.publicUrl).toBe(true);
    await pub.put('img/a b.txt', Buffer.from('public'), { contentType: 'text/plain' });
    const response = await fetch(pub.publicUrl('img/a b.txt')!);
    expect(await response.text()).toBe('public');
    const forced = await backend.provider({ bucket: SUPABASE_PUBLIC_BUCKET, public: false });
    expect(forced.publicUrl('img/a b.txt')).toBeUndefined();
  });
});

describe('supabase provider: error mapping and ping', () => {
  it('maps a missing bucket, a foreign key, the anon key and a 500', async () => {
    const noBucket = await backend.provider({ bucket: 'no-such-bucket' });
    await expect(noBucket.head('x')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(noBucket.ping()).rejects.toBeInstanceOf(ConfigurationError);

    const forged = await backend.provider({ key: new DoubleAuth('another-secret-of-at-least-thirty-two-chars').apiKey('service_role') });
    await expect(forged.head('x')).rejects.toBeInstanceOf(UnauthenticatedError);

    const anon = await backend.provider({ key: backend.double.anonKey });
    await expect(anon.put('anon.txt', Buffer.from('x'), { contentType: 'text/plain' })).rejects.toBeInstanceOf(AccessDeniedError);

    backend.double.injectFault({ path: /^\/object\/info\//, status: 500 });
    await expect(provider.head('up/small.json')).rejects.toBeInstanceOf(ProviderUnavailableError);
    // The resumable path retries a transient failure from the offset the server reports.
    backend.double.injectFault({ path: /^\/upload\/resumable$/, status: 503 });
    await expect(provider.put('up/lucky.bin', Readable.from([Buffer.alloc(10)]), { contentType: 'application/octet-stream' })).resolves.toEqual({
      key: 'up/lucky.bin',
      size: 10,
    });
  });

  it('pings up, and down with a reason when nothing answers', async () => {
    await expect(provider.ping()).resolves.toBeUndefined();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const down = await backend.provider({ url: `http://127.0.0.1:${port}`, public: false });
    const error = await down.ping().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toMatch(/unreachable \(ping\): ECONNREFUSED/);
  });
});
