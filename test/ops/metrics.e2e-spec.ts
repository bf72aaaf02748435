import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CircuitState } from 'cockatiel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageInstrumentation } from '@app/storage';
import { StorageMetrics } from '@app/storage/metrics';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { bearer } from '../support/tokens.js';
import { restartableS3rver } from './health-support.js';
import { scrape, valueOf, type Sample } from './metrics-support.js';

const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });

/** Counters move after real operations through the HTTP API of the reference server. */
describe('GET /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { METRICS_STORED_REFRESH_SECONDS: '0' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const ops = (samples: Sample[], operation: string, outcome: string) =>
    valueOf(samples, 'boards_storage_operations_total', { provider: 'local', operation, outcome });

  async function upload(body: string | Buffer | ReadableStream, type = 'text', contentType = 'text/plain') {
    return fetch(`${server.url}/artifacts?type=${type}&boardId=b1`, {
      method: 'POST',
      headers: { ...editor, 'content-type': contentType },
      body,
      duplex: 'half',
    } as RequestInit);
  }

  it('serves the Prometheus text format with storage and process metrics', async () => {
    const { contentType, text } = await scrape(server.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'boards_storage_operations_total',
      'boards_storage_operation_duration_seconds',
      'boards_storage_bytes_in_total',
      'boards_storage_bytes_out_total',
      'boards_storage_errors_total',
      'boards_storage_stored_bytes',
      'boards_storage_stored_artifacts',
      'boards_storage_circuit_breaker_state',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // Every configured provider's breaker reads closed from the start, before any transition.
    expect(text).toMatch(/boards_storage_circuit_breaker_state\{provider="local",state="closed"\} 1/);
    expect(text).toMatch(/boards_storage_circuit_breaker_state\{provider="local",state="open"\} 0/);
  });

  it('counts uploads, reads and signed URL issuance with their bytes and latency', async () => {
    const before = (await scrape(server.url)).samples;
    const created = await upload('hello metrics');
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const read = await fetch(`${server.url}/artifacts/${id}/content`, { headers: editor });
    expect(await read.text()).toBe('hello metrics');
    const part = await fetch(`${server.url}/artifacts/${id}/content`, { headers: { ...editor, range: 'bytes=0-4' } });
    expect(await part.text()).toBe('hello');
    expect((await fetch(`${server.url}/artifacts/${id}/download-url`, { headers: editor })).status).toBe(200);

    const after = (await scrape(server.url)).samples;
    expect(ops(after, 'store', 'success') - ops(before, 'store', 'success')).toBe(1);
    expect(ops(after, 'read', 'success') - ops(before, 'read', 'success')).toBe(2);
    expect(ops(after, 'presign_download', 'success') - ops(before, 'presign_download', 'success')).toBe(1);
    const bytesIn = (s: Sample[]) => valueOf(s, 'boards_storage_bytes_in_total', { provider: 'local' });
    const bytesOut = (s: Sample[]) => valueOf(s, 'boards_storage_bytes_out_total', { provider: 'local' });
    expect(bytesIn(after) - bytesIn(before)).toBe(13);
    expect(bytesOut(after) - bytesOut(before)).toBe(13 + 5);
    const stores = (s: Sample[]) =>
      valueOf(s, 'boards_storage_operation_duration_seconds_count', { provider: 'local', operation: 'store', outcome: 'success' });
    expect(stores(after) - stores(before)).toBe(1);
    const slowest = valueOf(after, 'boards_storage_operation_duration_seconds_bucket', {
      provider: 'local',
      operation: 'store',
      outcome: 'success',
      le: '+Inf',
    });
    expect(slowest).toBe(stores(after));
  });

  it('counts the traffic of signed URLs served by the local provider: reads, heads and uploads', async () => {
    const before = (await scrape(server.url)).samples;
    const upload = await (
      await fetch(`${server.url}/uploads`, {
        method: 'POST',
        headers: { ...editor, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'text', boardId: 'b1', contentType: 'text/plain', size: 11 }),
      })
    ).json();
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: 'signed body' })).status).toBe(200);
    let samples = (await scrape(server.url)).samples;
    expect(ops(samples, 'upload', 'success') - ops(before, 'upload', 'success')).toBe(1);
    expect((await fetch(`${server.url}/uploads/${upload.artifactId}/complete`, { method: 'POST', headers: editor })).status).toBe(200);

    const { url: downloadUrl } = await (await fetch(`${server.url}/artifacts/${upload.artifactId}/download-url`, { headers: editor })).json();
    expect(await (await fetch(downloadUrl)).text()).toBe('signed body');
    expect(await (await fetch(downloadUrl, { headers: { range: 'bytes=0-5' } })).text()).toBe('signed');
    expect((await fetch(downloadUrl, { method: 'HEAD' })).status).toBe(200);
    // A signature that does not verify is refused before any storage operation.
    const tampered = new URL(downloadUrl);
    tampered.searchParams.set('X-Boards-Expires', String(Number(tampered.searchParams.get('X-Boards-Expires')) + 1));
    expect((await fetch(tampered)).status).toBe(403);

    samples = (await scrape(server.url)).samples;
    expect(ops(samples, 'upload', 'success') - ops(before, 'upload', 'success')).toBe(1);
    expect(ops(samples, 'read', 'success') - ops(before, 'read', 'success')).toBe(2);
    expect(ops(samples, 'head', 'success') - ops(before, 'head', 'success')).toBe(1);
    expect(ops(samples, 'read', 'error') - ops(before, 'read', 'error')).toBe(0);
    const bytesIn = (s: Sample[]) => valueOf(s, 'boards_storage_bytes_in_total', { provider: 'local' });
    const bytesOut = (s: Sample[]) => valueOf(s, 'boards_storage_bytes_out_total', { provider: 'local' });
    expect(bytesOut(samples) - bytesOut(before)).toBe(11 + 6);
    // The uploaded bytes count once: complete_upload counts them, the signed PUT does not again.
    expect(bytesIn(samples) - bytesIn(before)).toBe(11);
    const uploads = (s: Sample[]) =>
      valueOf(s, 'boards_storage_operation_duration_seconds_count', { provider: 'local', operation: 'upload', outcome: 'success' });
    expect(uploads(samples) - uploads(before)).toBe(1);
  });

  it('counts failures by error code', async () => {
    const before = (await scrape(server.url)).samples;
    // Bytes gone from under their record: the read fails at the provider.
    const { id, storageKey } = await (await upload('soon missing')).json();
    await rm(`${server.storageRoot}/${storageKey}`);
    expect((await fetch(`${server.url}/artifacts/${id}/content`, { headers: editor })).status).toBe(404);
    // A streamed body (no declared length) over the 10 MB limit: refused while storing.
    const big = Readable.toWeb(Readable.from([Buffer.alloc(6 * 1024 * 1024), Buffer.alloc(6 * 1024 * 1024)])) as ReadableStream;
    expect((await upload(big, 'binary', 'application/octet-stream')).status).toBe(413);

    const after = (await scrape(server.url)).samples;
    const errors = (s: Sample[], operation: string, code: string) => valueOf(s, 'boards_storage_errors_total', { provider: 'local', operation, code });
    expect(errors(after, 'read', 'E_NOT_FOUND') - errors(before, 'read', 'E_NOT_FOUND')).toBe(1);
    expect(errors(after, 'store', 'E_TOO_LARGE') - errors(before, 'store', 'E_TOO_LARGE')).toBe(1);
    expect(ops(after, 'read', 'error') - ops(before, 'read', 'error')).toBe(1);
    expect(ops(after, 'store', 'error') - ops(before, 'store', 'error')).toBe(1);
  });

  it('reports the bytes stored per provider and artifact type from the registry', async () => {
    const before = (await scrape(server.url)).samples;
    const stored = (s: Sample[], name: string) => valueOf(s, name, { provider: 'local', artifact_type: 'image' });
    expect((await upload(Buffer.alloc(1000, 1), 'image', 'application/octet-stream')).status).toBe(201);
    expect((await upload(Buffer.alloc(24, 2), 'image', 'application/octet-stream')).status).toBe(201);
    const afterUploads = (await scrape(server.url)).samples;
    expect(stored(afterUploads, 'boards_storage_stored_bytes') - stored(before, 'boards_storage_stored_bytes')).toBe(1024);
    expect(stored(afterUploads, 'boards_storage_stored_artifacts') - stored(before, 'boards_storage_stored_artifacts')).toBe(2);

    // Deleted artifacts stop counting.
    const { id } = await (await upload(Buffer.alloc(100, 3), 'image', 'application/octet-stream')).json();
    expect((await fetch(`${server.url}/artifacts/${id}`, { method: 'DELETE', headers: editor })).status).toBe(204);
    const afterDelete = (await scrape(server.url)).samples;
    expect(stored(afterDelete, 'boards_storage_stored_bytes')).toBe(stored(afterUploads, 'boards_storage_stored_bytes'));
  });

  it('exposes circuit breaker state set through StorageMetrics or the instrumentation hook', async () => {
    const state = (s: Sample[], provider: string, name: string) => valueOf(s, 'boards_storage_circuit_breaker_state', { provider, state: name });
    server.app.get(StorageMetrics).setBreakerState('local', CircuitState.Open);
    let samples = (await scrape(server.url)).samples;
    expect([state(samples, 'local', 'open'), state(samples, 'local', 'closed'), state(samples, 'local', 'half_open')]).toEqual([1, 0, 0]);

    // The hook every StorageService shares: with the metrics module loaded, it is the metrics subclass.
    server.app.get(StorageInstrumentation).breakerStateChanged('local', 'half_open');
    samples = (await scrape(server.url)).samples;
    expect([state(samples, 'local', 'open'), state(samples, 'local', 'half_open')]).toEqual([0, 1]);
    server.app.get(StorageInstrumentation).breakerStateChanged('local', 'closed');
    samples = (await scrape(server.url)).samples;
    expect(state(samples, 'local', 'closed')).toBe(1);
  });
});

/** The breaker gauge follows the resilience layer's breaker while a real S3 backend stops and returns. */
describe('GET /metrics with an S3 backend that stops', () => {
  let server: TestServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let s3: Awaited<ReturnType<typeof restartableS3rver>>;

  beforeAll(async () => {
    dir = await tempDir('boards-metrics-s3-');
    s3 = await restartableS3rver(`${dir.path}/s3`, ['media']);
    server = await startTestServer({
      env: { METRICS_STORED_REFRESH_SECONDS: '0' },
      storage: (root) => ({
        defaultProvider: 'media',
        providers: {
          local: { type: 'local', config: { base_path: `${root}/storage`, signing_secret: 'a-test-signing-secret-0123456789' } },
          media: {
            type: 's3',
            config: { bucket: 'media', region: 'us-east-1', endpoint: s3.endpoint, force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
            resilience: { circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 }, retry: { maxAttempts: 1 } },
          },
        },
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await dir?.remove();
  });

  it('counts S3 operations and errors, and shows the breaker open while the backend is away, closed after', async () => {
    const state = async () => {
      const { samples } = await scrape(server.url);
      const current = samples.filter((s) => s.name === 'boards_storage_circuit_breaker_state' && s.labels.provider === 'media' && s.value === 1);
      return current.map((s) => s.labels.state);
    };
    const created = await fetch(`${server.url}/artifacts?type=image&boardId=b1`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(2048, 1),
    });
    expect(created.status).toBe(201);
    const { id, provider } = await created.json();
    expect(provider).toBe('media');
    let samples = (await scrape(server.url)).samples;
    expect(valueOf(samples, 'boards_storage_bytes_in_total', { provider: 'media' })).toBe(2048);
    expect(valueOf(samples, 'boards_storage_stored_bytes', { provider: 'media', artifact_type: 'image' })).toBe(2048);

    await s3.stop();
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${server.url}/artifacts/${id}/content`, { headers: editor })).status).toBeGreaterThanOrEqual(500);
    }
    expect(await state()).toEqual(['open']);
    samples = (await scrape(server.url)).samples;
    expect(valueOf(samples, 'boards_storage_operations_total', { provider: 'media', operation: 'read', outcome: 'error' })).toBe(3);
    const codes = samples.filter((s) => s.name === 'boards_storage_errors_total' && s.labels.provider === 'media').map((s) => s.labels.code);
    expect(codes).toContain('E_PROVIDER_UNAVAILABLE');

    await s3.start();
    await new Promise((resolve) => setTimeout(resolve, 400)); // past halfOpenAfterMs: the next call is the test call
    const read = await fetch(`${server.url}/artifacts/${id}/content`, { headers: editor });
    expect(read.status).toBe(200);
    expect((await read.arrayBuffer()).byteLength).toBe(2048);
    expect(await state()).toEqual(['closed']);
    samples = (await scrape(server.url)).samples;
    expect(valueOf(samples, 'boards_storage_bytes_out_total', { provider: 'media' })).toBe(2048);
  });
});
