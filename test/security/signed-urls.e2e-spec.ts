import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelfServedProvider, StorageProviderRegistry } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';
import { auditEventually, body, createUpload, editor, postArtifact, startSecurityServer, storedFiles, viewer, type SecurityServer } from './support.js';

const OLD_KEY = 'the-old-signing-secret-0123456789';
const NEW_KEY = 'the-new-signing-secret-9876543210';

/** Sends a PUT with explicit headers and chunks (a lying length, a streamed body); resolves to the status, or 0 if the server cut the connection. */
function rawPut(url: string, headers: Record<string, string>, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { method: 'PUT', headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

async function downloadUrl(server: SecurityServer, id: string): Promise<string> {
  const response = await fetch(`${server.url}/artifacts/${id}/download-url`, { headers: viewer });
  expect(response.status).toBe(200);
  return (await response.json()).url;
}

describe('signed URL key rotation', () => {
  it('an old key verifies while configured, and no longer once removed', async () => {
    const dir = await tempDir('boards-rotation-');
    try {
      let server = await startSecurityServer({ dir: dir.path, localConfig: { signing_keys: { k1: OLD_KEY }, signing_key_id: 'k1' } });
      const id = (await (await postArtifact(server, 'rotated bytes', 'text/plain')).json()).id;
      const oldUrl = await downloadUrl(server, id);
      expect(new URL(oldUrl).searchParams.get('X-Boards-Key-Id')).toBe('k1');
      const { upload } = await createUpload(server, 'text/plain', 5);
      await server.close();

      // Grace period: k2 signs, k1 still verifies.
      server = await startSecurityServer({ dir: dir.path, localConfig: { signing_keys: { k1: OLD_KEY, k2: NEW_KEY }, signing_key_id: 'k2' } });
      const rebased = (url: string) => `${server.url}${new URL(url).pathname}${new URL(url).search}`;
      expect((await fetch(rebased(oldUrl))).status).toBe(200);
      const put = await fetch(rebased(upload!.url), { method: 'PUT', headers: upload!.headers, body: body('hello') });
      expect(put.status).toBe(200);
      const newUrl = await downloadUrl(server, id);
      expect(new URL(newUrl).searchParams.get('X-Boards-Key-Id')).toBe('k2');
      expect(await (await fetch(newUrl)).text()).toBe('rotated bytes');
      await server.close();

      // k1 retired: its URLs are refused, k2's still work.
      server = await startSecurityServer({ dir: dir.path, localConfig: { signing_keys: { k2: NEW_KEY }, signing_key_id: 'k2' } });
      const retired = await fetch(rebased(oldUrl));
      expect(retired.status).toBe(403);
      expect((await retired.json()).code).toBe('E_INVALID_SIGNATURE');
      expect((await fetch(rebased(newUrl))).status).toBe(200);
      await server.close();
    } finally {
      await dir.remove();
    }
  });
});

/** Sends `bytes` on a connection of its own and returns everything the server answers until it closes. */
function exchange(url: URL, bytes: Buffer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('signed URL refusals leave nothing behind', () => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };
  let snapshot: string[];

  beforeAll(async () => {
    dir = await tempDir('boards-signed-');
    server = await startSecurityServer({ dir: dir.path });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  /** Every file under the storage root (temp files and sidecars included) must be as before. */
  async function expectNothingWritten() {
    expect((await storedFiles(dir.path)).sort()).toEqual(snapshot);
  }

  async function freshUpload(size = 10, contentType = 'text/plain') {
    const { upload } = await createUpload(server, contentType, size);
    snapshot = (await storedFiles(dir.path)).sort();
    return upload!;
  }

  const withQuery = (url: string, change: (query: URLSearchParams) => void) => {
    const parsed = new URL(url);
    change(parsed.searchParams);
    return parsed.toString();
  };

  it('HEAD on a download URL answers the headers of the whole object, through its own audited route', async () => {
    const created = await (await postArtifact(server, '0123456789', 'text/plain')).json();
    const url = await downloadUrl(server, created.id);
    const head = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=2-4' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    expect(head.headers.get('content-range')).toBeNull();
    expect(await head.text()).toBe('');
    const events = await auditEventually(server.audit, created.id, (list) => list.some((e) => e.action === 'signed_url.head'));
    expect(events.filter((e) => e.action.startsWith('signed_url.')).map((e) => `${e.action} ${e.outcome} ${e.statusCode}`)).toEqual(['signed_url.head success 200']);
  });

  it('a whole PUT followed by garbage on its connection is answered, then the garbage gets a JSON 400', async () => {
    for (const size of [10, 2 * 1024 * 1024]) {
      const upload = await freshUpload(size, 'application/octet-stream');
      const url = new URL(upload.url);
      const head = [`PUT ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(upload.headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${size}`, '', ''].join('\r\n');
      const received = await exchange(url, Buffer.concat([Buffer.from(head), Buffer.alloc(size, 7), Buffer.from('GARBAGE / HTTP/1.1\r\n\r\n')]));
      const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      expect({ size, statuses }).toEqual({ size, statuses: [200, 400] });
      expect(JSON.parse(received.slice(received.lastIndexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 400, code: 'E_INVALID_ARGUMENT' });
      const completed = await fetch(`${server.url}/uploads/${upload.artifactId}/complete`, { method: 'POST', headers: editor });
      expect(completed.status).toBe(200);
      expect((await completed.json()).size).toBe(size);
    }
  });

  it('chunk extensions over the parser limit are a JSON 413', async () => {
    const upload = await freshUpload(5, 'application/octet-stream');
    const url = new URL(upload.url);
    const head = [`PUT ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(upload.headers).map(([k, v]) => `${k}: ${v}`), 'Transfer-Encoding: chunked', '', ''].join('\r\n');
    const received = await exchange(url, Buffer.from(`${head}5;${'a'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`));
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 413, code: 'E_TOO_LARGE' });
    await expectNothingWritten();
  });

  it('a tampered path, expiry, content type or size claim is 403', async () => {
    const upload = await freshUpload();
    const tamperedPath = upload.url.replace(/\/original\?/, '/thumbnail?');
    const cases = {
      tamperedPath,
      tamperedExpiry: withQuery(upload.url, (q) => q.set('X-Boards-Expires', String(Number(q.get('X-Boards-Expires')) + 60))),
      tamperedMaxSize: withQuery(upload.url, (q) => q.set('X-Boards-Max-Size', '999999999')),
      tamperedType: withQuery(upload.url, (q) => q.set('X-Boards-Content-Type', 'text/html')),
      withoutSignature: withQuery(upload.url, (q) => q.delete('X-Boards-Signature')),
      unknownKeyId: withQuery(upload.url, (q) => q.set('X-Boards-Key-Id', 'nope')),
    };
    for (const [name, url] of Object.entries(cases)) {
      const headers = name === 'tamperedType' ? { 'content-type': 'text/html' } : upload.headers;
      const response = await fetch(url, { method: 'PUT', headers, body: body('0123456789') });
      expect(response.status, name).toBe(403);
      expect((await response.json()).code, name).toBe('E_INVALID_SIGNATURE');
    }
    await expectNothingWritten();
  });

  it('method swap: GET on an upload URL and PUT on a download URL are 403', async () => {
    const upload = await freshUpload();
    expect((await fetch(upload.url)).status).toBe(403);
    const id = (await (await postArtifact(server, 'downloadable', 'text/plain')).json()).id;
    const download = await downloadUrl(server, id);
    snapshot = (await storedFiles(dir.path)).sort();
    const put = await fetch(download, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: body('overwrite!!!') });
    expect(put.status).toBe(403);
    await expectNothingWritten();
    expect(await (await fetch(download)).text()).toBe('downloadable');
  });

  it("one upload's signature used for another key is 403", async () => {
    const first = await freshUpload();
    const second = await freshUpload();
    const borrowed = `${second.url.split('?')[0]}?${first.url.split('?')[1]}`;
    const response = await fetch(borrowed, { method: 'PUT', headers: second.headers, body: body('0123456789') });
    expect(response.status).toBe(403);
    await expectNothingWritten();
  });

  it('an expired URL is 403 E_URL_EXPIRED, even with a valid signature', async () => {
    const upload = await freshUpload();
    const provider = server.app.get(StorageProviderRegistry).get('local') as SelfServedProvider;
    const key = decodeURIComponent(new URL(upload.url).pathname.replace(/^\/storage\/local\//, ''));
    const expired = provider.signer.sign({ method: 'PUT', provider: 'local', key, expires: Math.floor(Date.now() / 1000) - 5, contentType: 'text/plain', maxSize: 10 });
    const response = await fetch(`${upload.url.split('?')[0]}?${expired}`, { method: 'PUT', headers: upload.headers, body: body('0123456789') });
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe('E_URL_EXPIRED');
    await expectNothingWritten();
  });

  it('a wrong or missing content type is 415', async () => {
    const upload = await freshUpload();
    for (const headers of [{ 'content-type': 'image/png' }, { 'content-type': 'text/plain-ish' }, {}] as Record<string, string>[]) {
      const response = await fetch(upload.url, { method: 'PUT', headers, body: body('0123456789') });
      expect(response.status).toBe(415);
    }
    await expectNothingWritten();
  });

  it('an oversize body is 413, declared or streamed without a length', async () => {
    const upload = await freshUpload(10);
    const declared = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: body('01234567890') });
    expect(declared.status).toBe(413);
    const chunked = await rawPut(upload.url, { ...upload.headers, 'transfer-encoding': 'chunked' }, [Buffer.alloc(8, 1), Buffer.alloc(8, 2)]);
    expect([413, 0]).toContain(chunked);
    await expectNothingWritten();
  });

  it('a short body (client stops early) writes nothing', async () => {
    const upload = await freshUpload(10);
    const status = await new Promise<number>((resolve) => {
      const request = httpRequest(upload.url, { method: 'PUT', headers: { ...upload.headers, 'content-length': '10' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', () => resolve(0));
      request.write('01234');
      setTimeout(() => request.destroy(), 50);
    });
    expect([400, 0]).toContain(status);
    // The server notices the hang-up asynchronously; give it a moment to clean up.
    for (let i = 0; i < 50 && (await storedFiles(dir.path)).length !== snapshot.length; i++) await new Promise((r) => setTimeout(r, 20));
    await expectNothingWritten();
  });
});

describe('direct upload instructions', () => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('boards-direct-');
    server = await startSecurityServer({ dir: dir.path });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('POST /uploads names exactly the method and headers to send, and following them succeeds', async () => {
    const data = Buffer.from('{"prompt":"a lighthouse"}');
    const { response, upload } = await createUpload(server, 'application/json; charset=utf-8', data.length);
    expect(response.status).toBe(201);
    expect(upload!.method).toBe('PUT');
    expect(upload!.headers).toEqual({ 'content-type': 'application/json' });
    const sent = await fetch(upload!.url, { method: upload!.method, headers: upload!.headers, body: body(data) });
    expect(sent.status).toBe(200);
    const completed = await fetch(`${server.url}/uploads/${upload!.artifactId}/complete`, { method: 'POST', headers: editor });
    expect(completed.status).toBe(200);
    expect(await (await fetch(`${server.url}/artifacts/${upload!.artifactId}/content`, { headers: viewer })).text()).toBe(data.toString());
  });
});
