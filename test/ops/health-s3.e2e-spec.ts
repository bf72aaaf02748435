import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { printTransition, probe, restartableS3rver } from './health-support.js';

const s3 = (endpoint: string, bucket: string) => ({
  bucket,
  region: 'us-east-1',
  endpoint,
  force_path_style: true,
  access_key_id: 'S3RVER',
  secret_access_key: 'S3RVER',
});

/** Two real S3 servers (s3rver) stopped and started again under a running reference server. */
describe('health endpoints: s3rver backends stopped mid-run', () => {
  let server: TestServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let media: Awaited<ReturnType<typeof restartableS3rver>>;
  let archive: Awaited<ReturnType<typeof restartableS3rver>>;

  beforeAll(async () => {
    dir = await tempDir('boards-health-s3-');
    media = await restartableS3rver(`${dir.path}/media`, ['media']);
    archive = await restartableS3rver(`${dir.path}/archive`, ['archive']);
    server = await startTestServer({
      // Generous: a first probe on a loaded machine loads the SDK's lazy parts; a stopped s3rver refuses at once anyway.
      env: { HEALTH_TIMEOUT_MS: '15000' },
      storage: (root) => ({
        defaultProvider: 'media',
        providers: {
          local: { type: 'local', config: { base_path: `${root}/storage`, signing_secret: 'a-test-signing-secret-0123456789' } },
          media: { type: 's3', config: s3(media.endpoint, 'media') },
          archive: { type: 's3', optional: true, config: s3(archive.endpoint, 'archive') },
        },
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await media?.stop();
    await archive?.stop();
    await dir?.remove();
  });

  it('is ready with both S3 backends answering', async () => {
    const ready = await probe(server.url, 'ready');
    printTransition('both s3rver backends up', ready);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details['storage:media']).toMatchObject({ status: 'up', type: 's3', optional: false, latencyMs: expect.any(Number) });
  });

  it('degrades (200) while the optional backend is stopped', async () => {
    await archive.stop();
    const degraded = await probe(server.url, 'ready');
    printTransition('optional "archive" s3rver stopped', degraded);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.details['storage:archive']).toMatchObject({ status: 'degraded', optional: true });
    expect(degraded.body.details['storage:archive'].message).toMatch(/ECONNREFUSED|unreachable|not usable|unavailable/i);

    await archive.start();
    const back = await probe(server.url, 'ready');
    printTransition('optional "archive" s3rver started again', back);
    expect(back.body.status).toBe('ok');
  });

  it('turns 503 naming the required backend while it is stopped, keeps liveness 200, and recovers when it returns', async () => {
    await media.stop();
    const down = await probe(server.url, 'ready');
    printTransition('required "media" s3rver stopped', down);
    expect(down.status).toBe(503);
    expect(Object.keys(down.body.error)).toEqual(['storage:media']);
    expect(down.body.error['storage:media']).toMatchObject({ status: 'down', type: 's3', optional: false });
    expect(down.body.error['storage:media'].message).toMatch(/ECONNREFUSED|unreachable|not usable|unavailable/i);
    expect(down.body.info['storage:archive'].status).toBe('up');
    const live = await probe(server.url, 'live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');

    await media.start();
    const back = await probe(server.url, 'ready');
    printTransition('required "media" s3rver started again', back);
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('ok');
  });
});
