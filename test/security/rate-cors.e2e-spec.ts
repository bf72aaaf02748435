import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/settings.js';
import { tempDir } from '../support/temp-dir.js';
import { body, createUpload, editor, postArtifact, startSecurityServer, viewer, type SecurityServer } from './support.js';

describe('upload rate limit', () => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('boards-rate-');
    server = await startSecurityServer({ dir: dir.path, env: { UPLOAD_RATE_LIMIT: '3', UPLOAD_RATE_TTL: '600' } });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('answers 429 in the API error shape, with Retry-After, once a client exceeds the limit; reads are not limited', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postArtifact(server, `upload ${i}`, 'text/plain')).status);
    expect(statuses).toEqual([201, 201, 201]);
    const limited = await postArtifact(server, 'one too many', 'text/plain');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests', code: 'E_RATE_LIMITED' });
    // Every upload route counts: starting a direct upload is refused too.
    expect((await createUpload(server, 'text/plain', 1)).response.status).toBe(429);
    const list = await fetch(`${server.url}/boards/b1/artifacts`, { headers: viewer });
    expect(list.status).toBe(200);
    const ids = (await list.json()).items.map((item: { id: string }) => item.id);
    for (let i = 0; i < 10; i++) expect((await fetch(`${server.url}/artifacts/${ids[0]}`, { headers: viewer })).status).toBe(200);
    const refusals = (await server.audit.repository.findBy({ errorCode: 'E_RATE_LIMITED' })).map((e) => `${e.action} ${e.outcome} ${e.statusCode}`);
    expect(refusals.sort()).toEqual(['artifact.store denied 429', 'upload.create denied 429']);
  });

  it('reads its settings from the environment, with a documented default', () => {
    expect(loadSettings({})).toMatchObject({ uploadRateLimit: 600, uploadRateTtlSeconds: 60, trustProxy: undefined });
    expect(loadSettings({ UPLOAD_RATE_LIMIT: '0', UPLOAD_RATE_TTL: '5', TRUST_PROXY: '1' })).toMatchObject({ uploadRateLimit: 0, uploadRateTtlSeconds: 5, trustProxy: 1 });
    expect(loadSettings({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });
});

describe('CORS for browser uploads', () => {
  const ALLOWED = 'https://boards.example.test';
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('boards-cors-');
    server = await startSecurityServer({ dir: dir.path, env: { CORS_ORIGINS: `${ALLOWED}, https://other.example.test` } });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  const preflight = (url: string, origin: string, method: string, headers: string) =>
    fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });

  it('answers the preflight of a signed PUT with Content-Type for an allowed origin, and the PUT itself', async () => {
    const data = Buffer.from('from a browser');
    const { upload } = await createUpload(server, 'text/plain', data.length);
    const answer = await preflight(upload!.url, ALLOWED, 'PUT', 'content-type');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(answer.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect(Number(answer.headers.get('access-control-max-age'))).toBeGreaterThan(0);

    const put = await fetch(upload!.url, { method: 'PUT', headers: { ...upload!.headers, origin: ALLOWED }, body: body(data) });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(put.headers.get('access-control-expose-headers')).toContain('ETag');
  });

  it('answers the preflight of API calls with Authorization, and exposes what clients read', async () => {
    const answer = await preflight(`${server.url}/uploads`, ALLOWED, 'POST', 'authorization,content-type');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const created = await postArtifact(server, 'cors', 'text/plain', { headers: { ...editor, origin: ALLOWED } });
    expect(created.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const refused = await fetch(`${server.url}/artifacts/nope`, { headers: { origin: ALLOWED } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED); // the browser can read the error
  });

  it('gives other origins nothing', async () => {
    const { upload } = await createUpload(server, 'text/plain', 3);
    const answer = await preflight(upload!.url, 'https://evil.example.test', 'PUT', 'content-type');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${server.url}/boards/b1/artifacts`, { headers: { ...viewer, origin: 'https://evil.example.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });
});
