import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import { bearer } from '../../../../test/support/tokens.js';
import { HEADER_BYTES } from './envelope-format.js';

const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

// The reference server over an encrypted local root: uploads (streamed and presigned), reads,
// ranges and presigned downloads all speak plaintext; the disk holds only ciphertext.
describe('reference server with encryption at rest', () => {
  let server: TestServer;
  const data = randomBytes(200_000); // four 64 KiB frames
  data.write('PLAINTEXT-MARKER', 70_000);

  beforeAll(async () => {
    server = await startTestServer({
      env: { UPLOAD_RATE_LIMIT: '0' },
      storage: (dir) => ({
        defaultProvider: 'local',
        providers: {
          local: {
            type: 'local',
            config: {
              base_path: join(dir, 'storage'),
              signing_secret: 'a-test-signing-secret-0123456789',
              encryption: { master_keys: { k1: randomBytes(32).toString('base64') } },
            },
          },
        },
        maxFileSize: '10MB',
      }),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectSealedOnDisk(storageKey: string, size: number) {
    const onDisk = await readFile(join(server.storageRoot, storageKey));
    expect(onDisk.length).toBeGreaterThan(HEADER_BYTES + size);
    expect(onDisk.includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
  }

  it('stores, reads, ranges and presigns in plaintext terms', async () => {
    const created = await fetch(`${server.url}/artifacts?type=bin&boardId=b1`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/octet-stream' },
      body: data,
    });
    expect(created.status).toBe(201);
    const record = (await created.json()) as { id: string; size: number; sha256: string; storageKey: string };
    expect(record).toMatchObject({ size: data.length, sha256: sha(data) });
    await expectSealedOnDisk(record.storageKey, data.length);

    const whole = await fetch(`${server.url}/artifacts/${record.id}/content`, { headers: editor });
    expect(whole.headers.get('content-length')).toBe(String(data.length));
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(data));

    const part = await fetch(`${server.url}/artifacts/${record.id}/content`, { headers: { ...editor, range: 'bytes=65530-131080' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 65530-131080/${data.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(65530, 131081))).toBe(true);

    const { url } = (await (await fetch(`${server.url}/artifacts/${record.id}/download-url`, { headers: editor })).json()) as { url: string };
    const signed = await fetch(url, { headers: { range: 'bytes=-100' } });
    expect(signed.status).toBe(206);
    expect(Buffer.from(await signed.arrayBuffer()).equals(data.subarray(data.length - 100))).toBe(true);
  });

  it('accepts a presigned direct upload and completes it with the plaintext size and hash', async () => {
    const started = await fetch(`${server.url}/uploads`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'bin', boardId: 'b1', contentType: 'application/octet-stream', size: data.length }),
    });
    expect(started.status).toBeLessThan(300);
    const upload = (await started.json()) as { artifactId: string; url: string; method: string; headers: Record<string, string> };
    const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: data });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { size: number }).size).toBe(data.length);
    const completed = await fetch(`${server.url}/uploads/${upload.artifactId}/complete`, { method: 'POST', headers: editor });
    expect(completed.status).toBe(200);
    const record = (await completed.json()) as { size: number; sha256: string; storageKey: string; status: string };
    expect(record).toMatchObject({ status: 'ready', size: data.length, sha256: sha(data) });
    await expectSealedOnDisk(record.storageKey, data.length);
  });
});
