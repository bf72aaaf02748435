import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageClient } from '@supabase/storage-js';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ws from 'ws';
import { DoubleAuth } from './auth.js';
import { startSupabaseDouble, type SupabaseDouble } from './index.js';

// The double is exercised only through the real clients (supabase-js, storage-js, tus-js-client):
// what they send and how they read the answers is what the recorded exchange fixes.

let double: SupabaseDouble;
let supabase: SupabaseClient;
const BUCKET = 'double-spec';

beforeAll(async () => {
  double = await startSupabaseDouble();
  supabase = createClient(double.url, double.serviceRoleKey, {
    // Node 20 has no global WebSocket; the storage calls never open one.
    realtime: { transport: ws as never },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const { error } = await supabase.storage.createBucket(BUCKET, { public: false });
  expect(error).toBeNull();
});

afterAll(async () => {
  await double?.stop();
});

const files = () => supabase.storage.from(BUCKET);

describe('Supabase Storage double, through supabase-js', () => {
  it('creates buckets and refuses a duplicate with a 409 in the body', async () => {
    const { data, error } = await supabase.storage.createBucket('second', { public: true });
    expect(error).toBeNull();
    expect(data).toEqual({ name: 'second' });
    const again = await supabase.storage.createBucket('second', { public: true });
    expect(again.error).toMatchObject({ status: 400, statusCode: '409', message: 'The resource already exists' });
    const got = await supabase.storage.getBucket('second');
    expect(got.data).toMatchObject({ id: 'second', public: true });
  });

  it('uploads, refuses a create-only overwrite with a Duplicate error, and upserts on request', async () => {
    const first = await files().upload('a/x.txt', 'hi', { contentType: 'text/plain' });
    expect(first.error).toBeNull();
    expect(first.data).toMatchObject({ path: 'a/x.txt', fullPath: `${BUCKET}/a/x.txt` });
    const duplicate = await files().upload('a/x.txt', 'other', { contentType: 'text/plain' });
    expect(duplicate.error).toMatchObject({ name: 'StorageApiError', status: 400, statusCode: '409', message: 'The resource already exists' });
    expect(await (await files().download('a/x.txt')).data?.text()).toBe('hi');
    const upsert = await files().upload('a/x.txt', 'new', { contentType: 'text/plain', upsert: true });
    expect(upsert.error).toBeNull();
    expect(await (await files().download('a/x.txt')).data?.text()).toBe('new');
  });

  it('reports a missing object as statusCode "404" in a 400 answer, and exists() as false', async () => {
    const missing = await files().download('nope/missing.txt');
    expect(missing.error).toMatchObject({ status: 400, statusCode: '404', message: 'Object not found' });
    expect((await files().exists('nope/missing.txt')).data).toBe(false);
    await files().upload('exists/yes.txt', 'y');
    expect((await files().exists('exists/yes.txt')).data).toBe(true);
  });

  it('keeps content type, cache control and user metadata, and reports them in info()', async () => {
    await files().upload('meta/doc.json', '{"a":1}', { contentType: 'application/json', cacheControl: '60', metadata: { owner: 'me' } });
    const { data, error } = await files().info('meta/doc.json');
    expect(error).toBeNull();
    expect(data).toMatchObject({ name: 'meta/doc.json', size: 7, contentType: 'application/json', cacheControl: 'max-age=60', metadata: { owner: 'me' } });
    expect(data?.etag).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('takes form uploads (Blob bodies) with the part type as the content type', async () => {
    const blob = new Blob([Buffer.from([1, 2, 3, 4, 5])], { type: 'application/octet-stream' });
    const { error } = await files().upload('a/blob.bin', blob);
    expect(error).toBeNull();
    const { data } = await files().info('a/blob.bin');
    expect(data).toMatchObject({ size: 5, contentType: 'application/octet-stream', cacheControl: 'max-age=3600' });
  });

  it('lists one folder level with folders first-class, names relative, limit and offset', async () => {
    for (const name of ['list/b.txt', 'list/a.txt', 'list/sub/c.txt', 'list/sub/d.txt', 'list/z/e.txt', 'listing-other.txt']) {
      await files().upload(name, name, { upsert: true });
    }
    const { data } = await files().list('list');
    expect(data?.map((e) => [e.name, e.id === null])).toEqual([
      ['a.txt', false],
      ['b.txt', false],
      ['sub', true],
      ['z', true],
    ]);
    expect(data?.[0].metadata).toMatchObject({ size: 10, mimetype: 'text/plain;charset=UTF-8' });
    const page = await files().list('list', { limit: 2, offset: 1 });
    expect(page.data?.map((e) => e.name)).toEqual(['b.txt', 'sub']);
    const searched = await files().list('list', { search: 'S' });
    expect(searched.data?.map((e) => e.name)).toEqual(['sub']);
    const nested = await files().list('list/sub/');
    expect(nested.data?.map((e) => e.name)).toEqual(['c.txt', 'd.txt']);
  });

  it('moves and copies; a copy onto an existing key needs x-upsert', async () => {
    await files().upload('mv/src.txt', 'move me');
    expect((await files().move('mv/src.txt', 'mv/dst.txt')).error).toBeNull();
    expect((await files().exists('mv/src.txt')).data).toBe(false);
    expect(await (await files().download('mv/dst.txt')).data?.text()).toBe('move me');
    expect((await files().copy('mv/dst.txt', 'mv/copy.txt')).data).toEqual({ path: `${BUCKET}/mv/copy.txt` });
    const again = await files().copy('mv/dst.txt', 'mv/copy.txt');
    expect(again.error).toMatchObject({ status: 400, statusCode: '409' });
    const upsertCopy = await files().setHeader('x-upsert', 'true').copy('mv/dst.txt', 'mv/copy.txt');
    expect(upsertCopy.error).toBeNull();
    const missing = await files().move('mv/none.txt', 'mv/other.txt');
    expect(missing.error).toMatchObject({ statusCode: '404' });
  });

  it('removes by exact names, returning the deleted rows (a missing name is not an error)', async () => {
    await files().upload('rm/one.txt', '1');
    const { data, error } = await files().remove(['rm/one.txt', 'rm/never.txt']);
    expect(error).toBeNull();
    expect(data?.map((row) => row.name)).toEqual(['rm/one.txt']);
    expect((await files().remove(['rm/one.txt'])).data).toEqual([]);
  });

  it('serves signed download URLs and verifies their token, path and expiry', async () => {
    await files().upload('signed/report.txt', 'signed body', { contentType: 'text/plain' });
    const { data } = await files().createSignedUrl('signed/report.txt', 60, { download: 'report.txt' });
    const url = data!.signedUrl;
    expect(url).toContain('/storage/v1/object/sign/double-spec/signed/report.txt?token=');
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe("attachment; filename=report.txt; filename*=UTF-8''report.txt;");
    expect(await ok.text()).toBe('signed body');

    const tampered = await fetch(url.replace(/token=([^&]+)/, (_m, t: string) => `token=${t.slice(0, -3)}abc`));
    expect(tampered.status).toBe(400);
    expect(await tampered.json()).toMatchObject({ statusCode: '400', code: 'InvalidJWT', message: 'invalid signature' });

    await files().upload('signed/other.txt', 'other');
    const moved = await fetch(url.replace('signed/report.txt', 'signed/other.txt'));
    expect(moved.status).toBe(400);
    expect(await moved.json()).toMatchObject({ code: 'InvalidSignature' });

    const short = await files().createSignedUrl('signed/report.txt', 1);
    await sleep(2100);
    const expired = await fetch(short.data!.signedUrl);
    expect(expired.status).toBe(400);
    expect(await expired.json()).toMatchObject({ statusCode: '400', message: 'jwt expired' });

    expect((await files().createSignedUrl('signed/missing.txt', 60)).error).toMatchObject({ statusCode: '404' });
  });

  it('issues signed upload URLs usable without credentials, bound to their path', async () => {
    const { data, error } = await files().createSignedUploadUrl('upload/su.txt');
    expect(error).toBeNull();
    const put = await files().uploadToSignedUrl('upload/su.txt', data!.token, 'x', { contentType: 'text/plain' });
    expect(put.error).toBeNull();
    expect(put.data).toMatchObject({ path: 'upload/su.txt', fullPath: `${BUCKET}/upload/su.txt` });
    expect(await (await files().download('upload/su.txt')).data?.text()).toBe('x');
    const elsewhere = await files().uploadToSignedUrl('upload/other.txt', data!.token, 'y');
    expect(elsewhere.error).toMatchObject({ statusCode: '400' });
    expect((await files().exists('upload/other.txt')).data).toBe(false);
    const existing = await files().createSignedUploadUrl('upload/su.txt');
    expect(existing.error).toMatchObject({ statusCode: '409' });
  });

  it('serves public objects only from public buckets', async () => {
    const pub = supabase.storage.from('second');
    await pub.upload('p/pic.txt', 'public bytes', { contentType: 'text/plain' });
    const publicUrl = pub.getPublicUrl('p/pic.txt').data.publicUrl;
    expect(publicUrl).toBe(`${double.url}/storage/v1/object/public/second/p/pic.txt`);
    const ok = await fetch(publicUrl);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('public bytes');
    const hidden = await fetch(files().getPublicUrl('a/x.txt').data.publicUrl);
    expect(hidden.status).toBe(400);
    expect(await hidden.json()).toMatchObject({ statusCode: '404', error: 'Bucket not found' });
  });

  it('keeps a 500 a 500', async () => {
    double.injectFault({ method: 'GET', path: /^\/object\/info\//, status: 500 });
    const { error } = await files().info('a/x.txt');
    expect(error).toMatchObject({ status: 500, statusCode: '500' });
  });
});

describe('Supabase Storage double, authentication (storage-js StorageClient)', () => {
  it('answers a request without Authorization with 400 and the schema message', async () => {
    const client = new StorageClient(double.storageUrl, {});
    const { error } = await client.from(BUCKET).info('a/x.txt');
    expect(error).toMatchObject({ status: 400, statusCode: '400', message: "headers must have required property 'authorization'" });
  });

  it('answers a key signed with another secret with 400 and statusCode "403"', async () => {
    const forged = new DoubleAuth('another-secret-of-at-least-thirty-two-chars').apiKey('service_role');
    const client = new StorageClient(double.storageUrl, { apikey: forged, authorization: `Bearer ${forged}` });
    const { error } = await client.from(BUCKET).list('a');
    expect(error).toMatchObject({ status: 400, statusCode: '403', message: 'invalid signature' });
  });

  it('hides objects from the anon key and refuses its writes (no RLS policies)', async () => {
    const client = new StorageClient(double.storageUrl, { apikey: double.anonKey, authorization: `Bearer ${double.anonKey}` });
    expect((await client.from(BUCKET).download('a/x.txt')).error).toMatchObject({ statusCode: '404' });
    expect((await client.from(BUCKET).upload('anon.txt', 'x')).error).toMatchObject({ statusCode: '403' });
  });
});

describe('Supabase Storage double, resumable uploads (tus-js-client)', () => {
  const headers = () => ({ authorization: `Bearer ${double.serviceRoleKey}`, apikey: double.serviceRoleKey });

  function tusUpload(source: Buffer | Readable, options: tus.UploadOptions): { upload: tus.Upload; done: Promise<void> } {
    let upload!: tus.Upload;
    const done = new Promise<void>((resolve, reject) => {
      upload = new tus.Upload(source, {
        endpoint: `${double.storageUrl}/upload/resumable`,
        headers: headers(),
        chunkSize: 64 * 1024,
        retryDelays: null,
        ...options,
        onSuccess: () => resolve(),
        onError: reject,
      });
    });
    upload.start();
    return { upload, done };
  }

  const chunks = (count: number, size: number) => Readable.from((function* () {
    for (let i = 0; i < count; i++) yield Buffer.alloc(size, i);
  })());

  it('creates an object from a stream of known length, visible only once complete', async () => {
    // Paused after its second chunk: half the bytes are on the server, and no object yet.
    let paused: Promise<void> | undefined;
    const started = tusUpload(chunks(4, 50_000), {
      uploadSize: 200_000,
      metadata: { bucketName: BUCKET, objectName: 'tus/known.bin', contentType: 'application/x-test', cacheControl: '120' },
      onChunkComplete: (_size, accepted) => {
        if (accepted === 100_000) paused = started.upload.abort(false);
      },
    });
    for (let waited = 0; !paused && waited < 10_000; waited += 10) await sleep(10);
    await paused;
    expect((await files().exists('tus/known.bin')).data).toBe(false);
    started.upload.start(); // resumes from the offset the server reports
    await started.done;
    const { data } = await files().info('tus/known.bin');
    expect(data).toMatchObject({ size: 200_000, contentType: 'application/x-test', cacheControl: 'max-age=120' });
    const bytes = Buffer.from(await (await files().download('tus/known.bin')).data!.arrayBuffer());
    expect(bytes.subarray(150_000, 150_003)).toEqual(Buffer.from([3, 3, 3]));
  });

  it('takes a deferred length (Upload-Defer-Length) and user metadata', async () => {
    const { done } = tusUpload(chunks(3, 64 * 1024), {
      uploadLengthDeferred: true,
      metadata: { bucketName: BUCKET, objectName: 'tus/deferred.bin', contentType: 'application/octet-stream', metadata: JSON.stringify({ kind: 'deferred' }) },
    });
    await done;
    const { data } = await files().info('tus/deferred.bin');
    expect(data).toMatchObject({ size: 3 * 64 * 1024, metadata: { kind: 'deferred' }, cacheControl: 'no-cache' });
  });

  it('refuses a create-only upload of an existing object with 409, and resumes after an abort', async () => {
    const refused = tusUpload(Buffer.from('again'), { metadata: { bucketName: BUCKET, objectName: 'a/x.txt' } });
    const error = (await refused.done.catch((e: unknown) => e)) as tus.DetailedError;
    expect(error.originalResponse?.getStatus()).toBe(409);
    expect(error.originalResponse?.getBody()).toBe('The resource already exists');

    const body = Buffer.alloc(300_000, 7);
    let aborted = false;
    const first = tusUpload(body, {
      metadata: { bucketName: BUCKET, objectName: 'tus/resumed.bin' },
      onChunkComplete: (_size, accepted) => {
        if (!aborted && accepted >= 128 * 1024) {
          aborted = true;
          void first.upload.abort(false);
        }
      },
    });
    for (let waited = 0; !aborted && waited < 10_000; waited += 10) await sleep(10);
    expect(aborted).toBe(true);
    expect((await files().exists('tus/resumed.bin')).data).toBe(false);
    const resumed = tusUpload(body, { uploadUrl: first.upload.url, metadata: { bucketName: BUCKET, objectName: 'tus/resumed.bin' } });
    await resumed.done;
    expect((await files().info('tus/resumed.bin')).data?.size).toBe(300_000);
  });

  it('terminates an unfinished upload (DELETE) without leaving an object', async () => {
    let terminated: Promise<void> | undefined;
    const started = tusUpload(chunks(10, 64 * 1024), {
      uploadLengthDeferred: true,
      metadata: { bucketName: BUCKET, objectName: 'tus/terminated.bin' },
      onChunkComplete: () => {
        terminated ??= started.upload.abort(true);
      },
    });
    while (!terminated) await sleep(10);
    await terminated;
    expect(double.requests.some((line) => line.startsWith('DELETE /upload/resumable/'))).toBe(true);
    expect((await files().exists('tus/terminated.bin')).data).toBe(false);
  });
});
