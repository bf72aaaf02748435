import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStorageProviderToken, type StorageProvider } from '@app/storage';
import { startGcsEmulator, gcsTestConfig, type GcsEmulator } from '../support/gcs-emulator.js';
import { startS3rver, type S3rverInstance } from '../support/s3rver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startSupabaseBackend, SUPABASE_TEST_BUCKET } from '../support/supabase.js';
import { bearer } from '../support/tokens.js';

const editor = bearer({ sub: 'router', tenant: 't1', boards: { b1: 'editor' }, global: 'editor' });
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
// Real signatures: the server sniffs bodies and refuses ones that contradict their declared type.
const MP4_HEAD = Buffer.from('0000001c667479706973six00000200697336736973326d703431'.replace('six', 'om'), 'hex');
const PNG_HEAD = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a0a50000000049454e44ae426082', 'hex');
const mp4 = (size: number) => Buffer.concat([MP4_HEAD, randomBytes(size - MP4_HEAD.length)]);
const png = (size: number) => Buffer.concat([PNG_HEAD, randomBytes(size - PNG_HEAD.length)]);

/**
 * The design's routing rules across real backends: the reference server configured with local,
 * s3 (s3rver), gcs (the Firebase Storage emulator) and supabase (the Storage API double).
 */
describe('routing across providers (reference server)', () => {
  let server: TestServer;
  let s3: S3rverInstance;
  let gcs: GcsEmulator;
  let supabase: Awaited<ReturnType<typeof startSupabaseBackend>>;

  beforeAll(async () => {
    [s3, gcs, supabase] = await Promise.all([startS3rver(['boards-prod-artifacts']), startGcsEmulator(), startSupabaseBackend()]);
    server = await startTestServer({
      storage: (dir) => ({
        defaultProvider: 'local',
        providers: {
          local: { type: 'local', config: { base_path: `${dir}/storage`, signing_secret: 'routing-test-signing-secret' } },
          s3: {
            type: 's3',
            config: {
              bucket: 'boards-prod-artifacts',
              region: s3.region,
              endpoint: s3.endpoint,
              force_path_style: true,
              access_key_id: s3.credentials.accessKeyId,
              secret_access_key: s3.credentials.secretAccessKey,
              checksum_mode: 'when_required',
            },
          },
          gcs: { type: 'gcs', config: gcsTestConfig(gcs, 'boards-images').config },
          supabase: { type: 'supabase', config: { url: supabase.double.url, key: supabase.double.serviceRoleKey, bucket: SUPABASE_TEST_BUCKET } },
        },
        routingRules: [
          // Large videos go to S3 (the design says 100MB; 64KB keeps the test small).
          { condition: { artifactType: 'video', sizeGt: '64KB' }, provider: 's3' },
          // Models use dedicated storage.
          { condition: { artifactType: 'model' }, provider: 'supabase' },
          { condition: { contentType: 'image/*' }, provider: 'gcs' },
          { provider: 'local' },
        ],
        maxFileSize: '10MB',
      }),
    });
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await Promise.allSettled([s3?.stop(), gcs?.stop(), supabase?.double.stop()]);
  });

  const cases = [
    { name: 'a large video', query: 'type=video&boardId=b1', contentType: 'video/mp4', bytes: mp4(200 * 1024), provider: 's3' },
    { name: 'a small video', query: 'type=video&boardId=b1', contentType: 'video/mp4', bytes: mp4(1024), provider: 'local' },
    { name: 'a model (global)', query: 'type=model', contentType: 'application/octet-stream', bytes: randomBytes(300 * 1024), provider: 'supabase' },
    { name: 'an image', query: 'type=image&boardId=b1', contentType: 'image/png', bytes: png(5000), provider: 'gcs' },
    { name: 'a text note', query: 'type=text&boardId=b1', contentType: 'text/plain', bytes: Buffer.from('plain words'), provider: 'local' },
  ];

  it.each(cases)('$name lands on $provider and reads back through the API', async ({ query, contentType, bytes, provider }) => {
    const created = await fetch(`${server.url}/artifacts?${query}`, { method: 'POST', headers: { ...editor, 'content-type': contentType }, body: bytes });
    expect(created.status).toBe(201);
    const record = await created.json();
    expect(record).toMatchObject({ provider, size: bytes.length, sha256: sha(bytes) });

    // The bytes really are in that backend, under the recorded key.
    const backend = server.app.get<StorageProvider>(getStorageProviderToken(provider));
    expect((await backend.head(record.storageKey)).size).toBe(bytes.length);
    for (const other of ['local', 's3', 'gcs', 'supabase'].filter((name) => name !== provider)) {
      expect(await server.app.get<StorageProvider>(getStorageProviderToken(other)).exists(record.storageKey)).toBe(false);
    }

    const content = await fetch(`${server.url}/artifacts/${record.id}/content`, { headers: editor });
    expect(content.status).toBe(200);
    expect(sha(Buffer.from(await content.arrayBuffer()))).toBe(record.sha256);

    const ranged = await fetch(`${server.url}/artifacts/${record.id}/content`, { headers: { ...editor, range: 'bytes=1-4' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(1, 5));

    const { url } = await (await fetch(`${server.url}/artifacts/${record.id}/download-url`, { headers: editor })).json();
    const direct = await fetch(url);
    expect(direct.status).toBe(200);
    expect(sha(Buffer.from(await direct.arrayBuffer()))).toBe(record.sha256);
  });
});
