import { randomBytes } from 'node:crypto';
import type { FinalizeRequestMiddleware, InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startS3rver, type S3rverInstance } from '../../../../../test/support/s3rver.js';
import { validatePlain } from '../../config/index.js';
import { ProviderUnavailableError, RangeNotSatisfiableError, StorageError } from '../../errors/index.js';
import { readAll } from '../../streams/index.js';
import { S3ProviderConfig } from './s3.config.js';
import { partSizeFor, S3StorageProvider } from './s3.provider.js';

interface SentRequest {
  command: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  query: Record<string, unknown>;
}

const MiB = 1024 * 1024;

/**
 * What the provider puts on the wire. s3rver accepts requests S3 would refuse or treat
 * differently (If-None-Match, SSE, signatures), so these tests read the requests themselves.
 */
describe('S3 provider: the requests it sends (against s3rver)', () => {
  let server: S3rverInstance;
  const providers: S3StorageProvider[] = [];
  let sent: SentRequest[] = [];

  async function provider(config: Partial<S3ProviderConfig> = {}): Promise<S3StorageProvider> {
    const instance = new S3StorageProvider();
    await instance.initialize({
      name: 's3',
      config: {
        bucket: 'requests',
        region: server.region,
        endpoint: server.endpoint,
        force_path_style: true,
        access_key_id: server.credentials.accessKeyId,
        secret_access_key: server.credentials.secretAccessKey,
        ...config,
      },
    });
    const capture: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string>; query: Record<string, unknown> };
      sent.push({ command: String(context.commandName), method: request.method, path: request.path, headers: { ...request.headers }, query: { ...request.query } });
      return next(args);
    };
    const stack = instance.client.middlewareStack as unknown as { add(middleware: unknown, options: object): void };
    stack.add(capture, { step: 'finalizeRequest', name: 'captureRequests' });
    providers.push(instance);
    return instance;
  }

  const commands = () => sent.map((request) => request.command);
  const first = (command: string) => sent.find((request) => request.command === command);

  beforeAll(async () => {
    server = await startS3rver(['requests']);
  });
  afterAll(async () => {
    await Promise.all(providers.map((instance) => instance.close()));
    await server?.stop();
  });
  beforeEach(() => {
    sent = [];
  });

  it('create-only sends If-None-Match: * on a single PUT and on CompleteMultipartUpload', async () => {
    const s3 = await provider();
    await s3.put('create-only/small', Buffer.from('x'), { contentType: 'text/plain', ifNotExists: true });
    expect(first('PutObjectCommand')?.headers['if-none-match']).toBe('*');

    sent = [];
    await s3.put('create-only/large', randomBytes(6 * MiB), { contentType: 'application/octet-stream', ifNotExists: true });
    expect(commands()).toContain('CompleteMultipartUploadCommand');
    expect(first('CompleteMultipartUploadCommand')?.headers['if-none-match']).toBe('*');

    sent = [];
    await s3.put('create-only/plain', Buffer.from('x'), { contentType: 'text/plain' });
    expect(first('PutObjectCommand')?.headers['if-none-match']).toBeUndefined();
  });

  it('SSE-KMS goes on PutObject, CreateMultipartUpload and CopyObject, never on UploadPart', async () => {
    const s3 = await provider({ sse: 'aws:kms', kms_key_id: 'arn:aws:kms:us-east-1:111122223333:key/test' });
    await s3.put('sse/large', randomBytes(6 * MiB), { contentType: 'application/octet-stream' });
    for (const command of ['CreateMultipartUploadCommand']) {
      expect(first(command)?.headers['x-amz-server-side-encryption'], command).toBe('aws:kms');
      expect(first(command)?.headers['x-amz-server-side-encryption-aws-kms-key-id'], command).toBe('arn:aws:kms:us-east-1:111122223333:key/test');
    }
    for (const request of sent.filter((r) => r.command === 'UploadPartCommand')) {
      expect(request.headers['x-amz-server-side-encryption']).toBeUndefined();
    }
    sent = [];
    await s3.put('sse/small', Buffer.from('x'), { contentType: 'text/plain' });
    expect(first('PutObjectCommand')?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    await s3.copy('sse/small', 'sse/copied');
    expect(first('CopyObjectCommand')?.headers['x-amz-server-side-encryption']).toBe('aws:kms');

    const aes = await provider({ sse: 'AES256' });
    sent = [];
    await aes.put('sse/aes', Buffer.from('x'), { contentType: 'text/plain' });
    expect(first('PutObjectCommand')?.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(first('PutObjectCommand')?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
  });

  it('checksum_mode maps to the SDK settings; the default depends on a custom endpoint', async () => {
    const required = await provider({ checksum_mode: 'when_required' });
    expect(await required.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await required.client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    await required.put('checksums/required', Buffer.from('abc'), { contentType: 'text/plain' });
    expect(Object.keys(first('PutObjectCommand')!.headers).filter((name) => name.startsWith('x-amz-checksum-'))).toEqual([]);

    const supported = await provider({ checksum_mode: 'when_supported' });
    expect(await supported.client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    sent = [];
    await supported.put('checksums/supported', Buffer.from('abc'), { contentType: 'text/plain' });
    expect(first('PutObjectCommand')!.headers['x-amz-checksum-crc32']).toBeDefined();

    expect(await (await provider()).client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    const aws = await provider({ endpoint: undefined, force_path_style: undefined });
    expect(await aws.client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
  });

  it('a presigned PUT signs content-type, carries no empty-body checksum and asks for the SSE headers', async () => {
    const s3 = await provider({ sse: 'AES256' });
    const request = await s3.presignPut('presign/put.png', { expiresIn: 600, contentType: 'image/png' });
    const url = new URL(request.url);
    expect(url.origin + url.pathname).toBe(`${server.endpoint}/requests/presign/put.png`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(expect.arrayContaining(['content-type', 'host']));
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
    expect([...url.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([]);
    expect(request.headers).toEqual({ 'content-type': 'image/png', 'x-amz-server-side-encryption': 'AES256' });

    const upload = await fetch(request.url, { method: 'PUT', headers: request.headers, body: 'png bytes' });
    expect(upload.status).toBe(200);
    expect((await s3.head('presign/put.png')).contentType).toBe('image/png');
  });

  it('presignUpload with maxSize is a POST policy pinning key, content type, size range and expiry', async () => {
    const s3 = await provider();
    const before = Date.now();
    const request = await s3.presignUpload('presign/post.png', { expiresIn: 900, contentType: 'image/png', maxSize: 1234 });
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`${server.endpoint}/requests`);
    const policy = JSON.parse(Buffer.from(request.fields!.Policy, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 0, 1234],
        { 'Content-Type': 'image/png' },
        { key: 'presign/post.png' },
        { bucket: 'requests' },
      ]),
    );
    const expiration = new Date(policy.expiration).getTime();
    expect(expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 899_000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 901_000);
    expect(request.fields).toMatchObject({ key: 'presign/post.png', 'Content-Type': 'image/png' });

    const form = new FormData();
    for (const [name, value] of Object.entries(request.fields!)) form.append(name, value);
    form.append('file', new Blob(['posted'], { type: 'image/png' }));
    const response = await fetch(request.url, { method: 'POST', body: form });
    expect(response.status).toBeLessThan(300);
    expect((await readAll((await s3.get('presign/post.png')).body)).toString()).toBe('posted');

    await expect(s3.presignPost('uploads/${filename}', { expiresIn: 60, contentType: 'image/png', maxSize: 1 })).rejects.toThrow(/filename/);
    await expect(s3.presignDownload('x', { expiresIn: 8 * 24 * 3600 })).rejects.toThrow(/expire/);
  });

  it('a presigned download asks S3 for the attachment disposition and content type', async () => {
    const s3 = await provider();
    const request = await s3.presignDownload('presign/report.txt', { expiresIn: 60, filename: 'Q3 report.txt', responseContentType: 'text/plain' });
    const url = new URL(request.url);
    expect(url.searchParams.get('response-content-disposition')).toMatch(/^attachment; filename="Q3 report.txt"/);
    expect(url.searchParams.get('response-content-type')).toBe('text/plain');
  });

  it('sends suffix and single-byte ranges as asked, and refuses an answer for another range', async () => {
    const s3 = await provider();
    await s3.put('ranges/object', randomBytes(100), { contentType: 'application/octet-stream' });
    // s3rver answers both wrongly (see the conformance target): the provider must not pass those bytes on.
    await expect(s3.get('ranges/object', { range: { suffix: 10 } })).rejects.toBeInstanceOf(StorageError);
    expect(first('GetObjectCommand')?.headers.range).toBe('bytes=-10');
    sent = [];
    await expect(s3.get('ranges/object', { range: { start: 0, end: 0 } })).rejects.toThrow(/answered bytes 0-99\/100 for bytes=0-0/);
    expect(first('GetObjectCommand')?.headers.range).toBe('bytes=0-0');

    const error = await s3.get('ranges/object', { range: { start: 500 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).size).toBe(100);
  });

  it('a body that fails after the first part aborts the multipart upload it started', async () => {
    const s3 = await provider();
    async function* failing(): AsyncGenerator<Buffer> {
      // Two parts' worth: the provider holds the last chunk back, and the failure discards what
      // lib-storage had not read yet, so a single part might never start.
      for (let i = 0; i < 12; i++) yield randomBytes(MiB);
      throw new Error('client went away');
    }
    await expect(s3.put('failed/multipart', failing(), { contentType: 'application/octet-stream' })).rejects.toThrow('client went away');
    expect(commands()).toContain('CreateMultipartUploadCommand');
    expect(commands()).toContain('AbortMultipartUploadCommand');
    expect(commands()).not.toContain('CompleteMultipartUploadCommand');
    expect(await s3.exists('failed/multipart')).toBe(false);
  });

  it('leaves no multipart upload behind, whenever the body fails', async () => {
    const s3 = await provider();
    for (const chunks of [5, 6, 7, 8, 9, 10, 11, 12]) {
      sent = [];
      async function* failing(): AsyncGenerator<Buffer> {
        for (let i = 0; i < chunks; i++) yield randomBytes(MiB);
        throw new Error('client went away');
      }
      await expect(s3.put(`failed/race-${chunks}`, failing(), { contentType: 'application/octet-stream' })).rejects.toThrow('client went away');
      // What the failed put left behind shows up here, if anything was still on its way.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const created = sent.filter((request) => request.command === 'CreateMultipartUploadCommand').length;
      const aborted = new Set(sent.filter((request) => request.command === 'AbortMultipartUploadCommand').map((request) => request.query.uploadId));
      expect(aborted.size, `${chunks} MiB: ${created} created, ${aborted.size} aborted`).toBe(created);
    }
  });

  it('an abort signal stops the upload, aborts its parts and rejects with the reason', async () => {
    const s3 = await provider();
    const controller = new AbortController();
    const reason = new Error('cancelled by the user');
    async function* slow(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 40; i++) {
        if (i === 24) controller.abort(reason);
        yield randomBytes(512 * 1024);
      }
    }
    await expect(s3.put('aborted/multipart', slow(), { contentType: 'application/octet-stream', signal: controller.signal })).rejects.toBe(reason);
    expect(commands()).toContain('AbortMultipartUploadCommand');
    expect(commands()).not.toContain('CompleteMultipartUploadCommand');
    expect(await s3.exists('aborted/multipart')).toBe(false);
  });

  it('part_size and queue_size set the parts of a multipart upload and how many are in flight', async () => {
    const s3 = await provider({ part_size: '6MB', queue_size: 2 });
    const parts: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const watch: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      if (context.commandName !== 'UploadPartCommand') return next(args);
      parts.push((args.input as { Body: Uint8Array }).Body.byteLength);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    };
    (s3.client.middlewareStack as unknown as { add(middleware: unknown, options: object): void }).add(watch, { step: 'initialize', name: 'watchParts' });
    // 25 MiB of unknown length in 1 MiB chunks: four 6 MiB parts and the 1 MiB rest.
    const chunks = Array.from({ length: 25 }, () => randomBytes(MiB));
    async function* body(): AsyncGenerator<Buffer> {
      yield* chunks;
    }
    await s3.put('parts/sized', body(), { contentType: 'application/octet-stream' });
    expect(parts).toEqual([6 * MiB, 6 * MiB, 6 * MiB, 6 * MiB, MiB]);
    expect(mostInFlight).toBe(2);
    const stored = await readAll((await s3.get('parts/sized')).body, 32 * MiB);
    expect(stored.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('ping reports a missing bucket as down, with the bucket named', async () => {
    const s3 = await provider({ bucket: 'no-such-bucket' });
    const error = await s3.ping().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toContain('"no-such-bucket" does not exist');
  });
});

describe('S3 provider config', () => {
  const check = (config: Record<string, unknown>) => validatePlain(S3ProviderConfig, config, 'providers.media.config');

  it('accepts the documented keys, with credentials optional', () => {
    expect(check({ bucket: 'b', region: 'eu-west-1' }).problems).toEqual([]);
    const full = check({
      bucket: 'b',
      region: 'auto',
      access_key_id: 'AKIA',
      secret_access_key: 'secret',
      endpoint: 'https://account.r2.example.com',
      force_path_style: 'true',
      checksum_mode: 'when_required',
      sse: 'aws:kms',
      kms_key_id: 'alias/boards',
      part_size: '16MB',
      queue_size: '8',
    });
    expect(full.problems).toEqual([]);
    expect(full.value.force_path_style).toBe(true);
    expect(full.value.queue_size).toBe(8);
    // `${VAR:-}` left empty means "not set", so the SDK's default credential chain applies.
    expect(check({ bucket: 'b', region: 'r', access_key_id: '', secret_access_key: '', endpoint: '', sse: '' }).problems).toEqual([]);
  });

  it('reports each problem at its path', () => {
    const problems = check({
      access_key_id: 'AKIA',
      endpoint: 'localhost:9000',
      force_path_style: 'yes',
      checksum_mode: 'always',
      sse: 'AES256',
      kms_key_id: 'alias/boards',
      bucket_name: 'typo',
      part_size: '1MB',
      queue_size: 0,
    }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'providers.media.config.bucket: should not be empty',
        'providers.media.config.region: should not be empty',
        'providers.media.config.secret_access_key: must be set together with access_key_id',
        'providers.media.config.endpoint: must be an http(s) URL',
        'providers.media.config.force_path_style: must be a boolean value',
        'providers.media.config.checksum_mode: must be one of: when_supported, when_required',
        'providers.media.config.kms_key_id: needs sse: aws:kms',
        'providers.media.config.bucket_name: is not a known option',
        'providers.media.config.part_size: must be between 5MB and 5GB',
        'providers.media.config.queue_size: must not be less than 1',
      ]),
    );
    const unreadable = check({ bucket: 'b', region: 'r', part_size: 'big', queue_size: 'many' }).problems;
    expect(unreadable.filter((problem) => problem.includes('part_size'))).toEqual([
      'providers.media.config.part_size: must be a size such as 104857600, "100MB" or "2GB"',
    ]);
    expect(unreadable).toContain('providers.media.config.queue_size: must be an integer number');
  });

  it('a part size grows when a declared length would need more than 10,000 parts', () => {
    expect(partSizeFor(undefined, 100 * 1024 * MiB)).toBeUndefined();
    expect(partSizeFor(8 * MiB, 10 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(8 * MiB, undefined)).toBe(8 * MiB);
    // 100 GiB in 10,000 parts needs parts of at least 10,486 KiB.
    expect(partSizeFor(8 * MiB, 100 * 1024 * MiB)).toBe(Math.ceil((100 * 1024 * MiB) / 10_000));
  });
});
