import { rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/bootstrap.js';
import { loadSettings } from '../../src/settings.js';
import { tempDir } from '../support/temp-dir.js';
import { TEST_JWT_SECRET, bearer } from '../support/tokens.js';
import { restartableS3rver } from './health-support.js';

const SIGNING_SECRET = 'log-test-signing-secret-0123456789abcdef';

/**
 * Everything the process writes to stdout and stderr while `run` runs (nothing is printed), one
 * entry per write call.
 */
async function captureOutput(run: () => Promise<void>): Promise<string[]> {
  const chunks: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const grab = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = grab;
  process.stderr.write = grab;
  try {
    await run();
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
  return chunks;
}

/** Node's own runtime warnings (`(node:PID) Warning: ...`, e.g. an SDK's engine notice) are not log lines. */
const isRuntimeWarning = (chunk: string) => /^\(node:\d+\) /.test(chunk);
const linesOf = (chunks: string[]) => chunks.join('').split('\n').filter((line) => line.trim() !== '');

/**
 * With LOG_FORMAT=json and LOG_LEVEL=debug, every storage operation logs one JSON line with its
 * artifact id, provider, operation, outcome and duration, and no line carries a secret: no
 * signed URL query, no bearer token, no signing or JWT secret.
 */
describe('structured logs', () => {
  let app: NestExpressApplication;
  let url: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let s3: Awaited<ReturnType<typeof restartableS3rver>>;
  let chunks: string[] = [];
  let lines: string[] = []; // what the app's logger printed
  const ids = { stored: '', signedUpload: '' };
  const secrets = new Set<string>([SIGNING_SECRET, TEST_JWT_SECRET]);
  const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });
  const forged = bearer({ sub: 'mallory', tenant: 't1', boards: { b1: 'editor' } }, { secret: 'not-the-server-secret-at-all' });

  beforeAll(async () => {
    dir = await tempDir('boards-logs-');
    s3 = await restartableS3rver(`${dir.path}/s3`, ['images']);
    const settings = loadSettings({
      BOARDS_JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: `sqlite:${dir.path}/boards.sqlite`,
      PORT: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
    });
    for (const headers of [editor, forged]) {
      const token = headers.authorization.slice('Bearer '.length);
      secrets.add(token);
      secrets.add(token.split('.')[2]); // the signature alone
    }
    chunks = await captureOutput(async () => {
      app = await createServer({
        settings,
        storage: {
          defaultProvider: 'local',
          providers: {
            local: { type: 'local', config: { base_path: `${dir.path}/storage`, signing_secret: SIGNING_SECRET } },
            s3: {
              type: 's3',
              config: { bucket: 'images', region: 'us-east-1', endpoint: s3.endpoint, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
            },
          },
          routingRules: [{ condition: { artifactType: 'image' }, provider: 's3' }, { provider: 'local' }],
          maxFileSize: '1MB',
        },
      });
      await app.listen(0, '127.0.0.1');
      url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      await exercise();
    });
    lines = linesOf(chunks.filter((chunk) => !isRuntimeWarning(chunk)));
  });
  afterAll(async () => {
    await app?.close();
    await s3?.stop();
    await dir?.remove();
  });

  const post = (path: string, body: BodyInit, headers: Record<string, string>) =>
    fetch(`${url}${path}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);

  /** Uploads, reads, signed URLs (issued, used, tampered), direct uploads, deletes and failures. */
  async function exercise(): Promise<void> {
    const stored = await (await post('/artifacts?type=text&boardId=b1', 'logged bytes', { ...editor, 'content-type': 'text/plain' })).json();
    ids.stored = stored.id;
    await (await fetch(`${url}/artifacts/${stored.id}/content`, { headers: editor })).text();

    const { url: downloadUrl } = await (await fetch(`${url}/artifacts/${stored.id}/download-url`, { headers: editor })).json();
    secrets.add(new URL(downloadUrl).searchParams.get('X-Boards-Signature')!);
    expect(await (await fetch(downloadUrl)).text()).toBe('logged bytes');
    expect((await fetch(downloadUrl, { method: 'HEAD' })).status).toBe(200);
    const tampered = new URL(downloadUrl);
    const signature = tampered.searchParams.get('X-Boards-Signature')!;
    tampered.searchParams.set('X-Boards-Signature', `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`);
    expect((await fetch(tampered)).status).toBe(403);

    const upload = await (
      await post('/uploads', JSON.stringify({ type: 'text', boardId: 'b1', contentType: 'text/plain', size: 6 }), {
        ...editor,
        'content-type': 'application/json',
      })
    ).json();
    secrets.add(new URL(upload.url).searchParams.get('X-Boards-Signature')!);
    ids.signedUpload = upload.artifactId;
    expect((await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: 'direct' })).status).toBe(415);
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: 'direct' })).status).toBe(200);
    expect((await fetch(`${url}/uploads/${upload.artifactId}/complete`, { method: 'POST', headers: editor })).status).toBe(200);

    // The same on S3: presigned URLs carry X-Amz-Signature (in the query, or a POST policy's fields).
    const image = await (await post('/artifacts?type=image&boardId=b1', Buffer.alloc(64, 7), { ...editor, 'content-type': 'application/octet-stream' })).json();
    expect(image.provider).toBe('s3');
    const { url: s3Url } = await (await fetch(`${url}/artifacts/${image.id}/download-url`, { headers: editor })).json();
    secrets.add(new URL(s3Url).searchParams.get('X-Amz-Signature')!);
    expect((await fetch(s3Url)).status).toBe(200);
    const s3Upload = await (
      await post('/uploads', JSON.stringify({ type: 'image', boardId: 'b1', contentType: 'application/octet-stream', size: 8 }), {
        ...editor,
        'content-type': 'application/json',
      })
    ).json();
    const s3Signature = new URL(s3Upload.url).searchParams.get('X-Amz-Signature') ?? s3Upload.fields?.['X-Amz-Signature'];
    expect(s3Signature).toEqual(expect.any(String));
    secrets.add(s3Signature);
    await s3.stop();
    expect((await fetch(`${url}/artifacts/${image.id}/download-url`, { headers: editor })).status).toBe(200); // signing is offline
    expect((await fetch(`${url}/artifacts/${image.id}/content`, { headers: editor })).status).toBeGreaterThanOrEqual(500);
    await s3.start();

    // Failures: a forged token, a malformed header, a body over the limit, a backend that is gone.
    expect((await fetch(`${url}/artifacts/${stored.id}`, { headers: forged })).status).toBe(401);
    expect((await fetch(`${url}/artifacts/${stored.id}`, { headers: { authorization: `Bearer ${SIGNING_SECRET}` } })).status).toBe(401);
    const big = Readable.toWeb(Readable.from([Buffer.alloc(700_000), Buffer.alloc(700_000)])) as ReadableStream;
    expect((await post('/artifacts?type=bin&boardId=b1', big, { ...editor, 'content-type': 'application/octet-stream' })).status).toBe(413);
    await rename(`${dir.path}/storage`, `${dir.path}/storage.away`);
    expect((await post('/artifacts?type=text&boardId=b1', 'no backend', { ...editor, 'content-type': 'text/plain' })).status).toBeGreaterThanOrEqual(500);
    expect((await fetch(`${url}/health/ready`)).status).toBe(503);
    const lost = await fetch(`${url}/artifacts/${stored.id}/content`, { headers: editor });
    expect(lost.status).toBeGreaterThanOrEqual(400);
    await rename(`${dir.path}/storage.away`, `${dir.path}/storage`);
    expect((await fetch(`${url}/artifacts/${stored.id}`, { method: 'DELETE', headers: editor })).status).toBe(204);
  }

  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('prints every line as one JSON object', () => {
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      const record = JSON.parse(line);
      expect(record).toMatchObject({ level: expect.any(String), timestamp: expect.any(Number) });
      expect(record).toHaveProperty('message');
    }
  });

  it('logs each storage operation with artifact id, provider, operation, outcome and duration', () => {
    const operations = records().filter((r) => r.context === 'Storage');
    const seen = new Set(operations.map((r) => `${r.operation}:${r.outcome}`));
    expect(operations.some((r) => r.provider === 's3' && r.operation === 'read' && r.outcome === 'error')).toBe(true);
    for (const expected of ['store:success', 'read:success', 'presign_download:success', 'presign_upload:success', 'complete_upload:success', 'delete:success', 'store:error']) {
      expect(seen).toContain(expected);
    }
    for (const record of operations) {
      expect(record).toMatchObject({
        provider: expect.stringMatching(/^(local|s3)$/),
        artifactId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        durationMs: expect.any(Number),
      });
      if (record.outcome === 'error') {
        expect(record).toMatchObject({ level: 'warn', message: 'storage operation failed', errorCode: expect.stringMatching(/^E_/) });
      } else {
        expect(record).toMatchObject({ level: 'debug', message: 'storage operation' });
      }
    }
    // Signed URL traffic of the local provider is logged as well: a GET is a read, a HEAD a head, a PUT an upload.
    const success = (operation: string, artifactId: string) =>
      operations.filter((r) => r.operation === operation && r.artifactId === artifactId && r.outcome === 'success' && r.provider === 'local');
    expect(success('read', ids.stored)).toHaveLength(2); // the API read and the signed GET
    expect(success('read', ids.stored).every((r) => r.bytes === 12 && r.artifactType === 'text')).toBe(true);
    expect(success('head', ids.stored)).toHaveLength(1);
    expect(success('upload', ids.signedUpload)).toEqual([expect.objectContaining({ bytes: 6, artifactType: 'text' })]);
    const tooLarge = operations.find((r) => r.errorCode === 'E_TOO_LARGE');
    expect(tooLarge).toMatchObject({ operation: 'store', outcome: 'error' });
  });

  it('never prints a signed URL query, a bearer token or a secret', () => {
    const forbidden = ['X-Boards-Signature', 'X-Amz-Signature', 'X-Goog-Signature', 'token=', 'Bearer ', 'authorization', ...secrets];
    expect(secrets.size).toBeGreaterThanOrEqual(10);
    // Every byte written is searched, runtime warnings included.
    const leaks = linesOf(chunks).flatMap((line) => forbidden.filter((needle) => line.toLowerCase().includes(needle.toLowerCase())).map((needle) => `${needle} in ${line}`));
    expect(leaks).toEqual([]);
    // The failures above were logged, so the check covered error paths too.
    expect(records().some((r) => r.level === 'error' && r.context === 'StorageHttp')).toBe(true);
    expect(records().some((r) => r.level === 'error' && String(r.message).includes('Health Check has failed'))).toBe(true);
  });
});
