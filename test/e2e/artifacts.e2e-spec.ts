import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { bearer, signToken } from '../support/tokens.js';

const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });
const viewer = bearer({ sub: 'bob', tenant: 't1', boards: { b1: 'viewer' } });
const outsider = bearer({ sub: 'carol', tenant: 't1', boards: { b2: 'editor' } });
const otherTenant = bearer({ sub: 'dave', tenant: 't2', boards: { b1: 'editor' } });

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('reference server: artifacts API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** POST /uploads for board b1, as the editor. */
  function askUpload(type: string, contentType: string, size: number) {
    return fetch(`${server.url}/uploads`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/json' },
      body: JSON.stringify({ type, boardId: 'b1', contentType, size }),
    });
  }

  const complete = (artifactId: string) => fetch(`${server.url}/uploads/${artifactId}/complete`, { method: 'POST', headers: editor });

  async function upload(body: Buffer | string, contentType = 'text/plain', query = 'type=text&boardId=b1', headers = editor) {
    return fetch(`${server.url}/artifacts?${query}`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body: body as BodyInit });
  }

  it('stores a raw body and returns its record', async () => {
    const response = await upload('hello artifacts');
    expect(response.status).toBe(201);
    const record = await response.json();
    expect(record).toMatchObject({ provider: 'local', contentType: 'text/plain', size: 15, sha256: sha('hello artifacts') });
    expect(record.storageKey).toMatch(new RegExp(`^t1/text/b1/${record.id}_\\d{14}_[0-9a-f]{8}/original$`));
    expect(new Date(record.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('stores the file field of a multipart form', async () => {
    const form = new FormData();
    form.append('note', 'ignored');
    form.append('file', new Blob(['{"a":1}'], { type: 'application/json' }), 'a.json');
    const response = await fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: editor, body: form });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ contentType: 'application/json', size: 7, sha256: sha('{"a":1}') });
  });

  it('stores the "file" field when other file fields come first (a browser sends empty ones for empty inputs)', async () => {
    const form = new FormData();
    form.append('thumb', new Blob([], { type: 'application/octet-stream' }), '');
    form.append('preview', new Blob(['not this one'], { type: 'text/plain' }), 'p.txt');
    form.append('file', new Blob(['the file'], { type: 'text/plain' }), 'f.txt');
    const response = await fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: editor, body: form });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ size: 8, sha256: sha('the file') });
  });

  it('stores nothing from a form cut short after its file part', async () => {
    const boundary = 'cutShort7';
    const body = [`--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="a.txt"', 'Content-Type: text/plain', '', 'complete file', `--${boundary}`, 'Content-Disposition: form-data; name="note"', '', 'trunc'].join('\r\n');
    const before = await (await fetch(`${server.url}/boards/b1/artifacts?type=cut`, { headers: viewer })).json();
    const response = await fetch(`${server.url}/artifacts?type=cut&boardId=b1`, { method: 'POST', headers: { ...editor, 'content-type': `multipart/form-data; boundary=${boundary}` }, body });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'E_INVALID_ARGUMENT', message: expect.stringContaining('Unexpected end of form') });
    const after = await (await fetch(`${server.url}/boards/b1/artifacts?type=cut`, { headers: viewer })).json();
    expect(after.items).toEqual(before.items);
  });

  it('refuses other file fields past their bound with a 413', async () => {
    const form = new FormData();
    form.append('extra', new Blob([Buffer.alloc(1024 * 1024 + 1, 1)], { type: 'application/octet-stream' }), 'big.bin');
    form.append('file', new Blob(['x'], { type: 'text/plain' }), 'f.txt');
    const response = await fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: editor, body: form });
    expect(response.status).toBe(413);
    expect((await response.json()).code).toBe('E_TOO_LARGE');
  });

  it('reads the record, the bytes, a range and validates the ETag', async () => {
    const created = await (await upload('0123456789')).json();
    const record = await fetch(`${server.url}/artifacts/${created.id}`, { headers: viewer });
    expect(record.status).toBe(200);
    expect((await record.json()).id).toBe(created.id);

    const whole = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: viewer });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe('10');
    expect(whole.headers.get('etag')).toBe(`"${created.sha256}"`);
    expect(whole.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await whole.text()).toBe('0123456789');

    const part = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: { ...viewer, range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await part.text()).toBe('234');

    const suffix = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: { ...viewer, range: 'bytes=-3' } });
    expect(await suffix.text()).toBe('789');

    const unsatisfiable = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: { ...viewer, range: 'bytes=50-60' } });
    expect(unsatisfiable.status).toBe(416);
    expect((await unsatisfiable.json()).code).toBe('E_RANGE_NOT_SATISFIABLE');

    const cached = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: { ...viewer, 'if-none-match': `"${created.sha256}"` } });
    expect(cached.status).toBe(304);
  });

  it('answers 304 to every If-None-Match form that names the ETag, and 416 with Content-Range', async () => {
    const created = await (await upload('0123456789')).json();
    const content = `${server.url}/artifacts/${created.id}/content`;
    const etag = `"${created.sha256}"`;
    for (const condition of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await fetch(content, { headers: { ...viewer, 'if-none-match': condition } });
      expect({ condition, status: response.status, etag: response.headers.get('etag') }).toEqual({ condition, status: 304, etag });
    }
    const changed = await fetch(content, { headers: { ...viewer, 'if-none-match': '"other"' } });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe('0123456789');
    const since = await fetch(content, { headers: { ...viewer, 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() } });
    expect(since.status).toBe(304);

    const beyond = await fetch(content, { headers: { ...viewer, range: 'bytes=10-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10');
    expect(beyond.headers.get('etag')).not.toBe(etag);
    expect((await beyond.json()).code).toBe('E_RANGE_NOT_SATISFIABLE');
    const { url } = await (await fetch(`${content.slice(0, -'/content'.length)}/download-url`, { headers: viewer })).json();
    const signed = await fetch(url, { headers: { range: 'bytes=20-30' } });
    expect(signed.status).toBe(416);
    expect(signed.headers.get('content-range')).toBe('bytes */10');
  });

  it('issues a download URL that works without credentials, and refuses it tampered', async () => {
    const created = await (await upload('signed bytes')).json();
    const response = await fetch(`${server.url}/artifacts/${created.id}/download-url`, { headers: viewer });
    expect(response.status).toBe(200);
    const { url, expiresAt } = await response.json();
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('signed bytes');
    const tampered = await fetch(url.replace(/X-Boards-Expires=(\d+)/, (_m: string, e: string) => `X-Boards-Expires=${Number(e) + 10}`));
    expect(tampered.status).toBe(403);
    const withoutQuery = await fetch(url.split('?')[0]);
    expect(withoutQuery.status).toBe(403);
  });

  it('runs a direct upload: presign, PUT, complete', async () => {
    const body = Buffer.from('direct upload body');
    const created = await askUpload('text', 'text/plain', body.length);
    expect(created.status).toBe(201);
    const upload = await created.json();
    expect(upload).toMatchObject({ method: 'PUT', headers: { 'content-type': 'text/plain' } });

    const wrongType = await fetch(upload.url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body });
    expect(wrongType.status).toBe(415);
    const tooBig = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: Buffer.concat([body, body]) });
    expect(tooBig.status).toBe(413);

    const sent = await fetch(upload.url, { method: upload.method, headers: upload.headers, body });
    expect(sent.status).toBe(200);
    const again = await fetch(upload.url, { method: upload.method, headers: upload.headers, body });
    expect(again.status).toBe(409);

    const completed = await complete(upload.artifactId);
    expect(completed.status).toBe(200);
    expect(await completed.json()).toMatchObject({ id: upload.artifactId, size: body.length, sha256: sha(body), status: 'ready' });
    const content = await fetch(`${server.url}/artifacts/${upload.artifactId}/content`, { headers: viewer });
    expect(await content.text()).toBe('direct upload body');
  });

  it('completes an upload once however many completions race, and keeps its bytes', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const created = await askUpload('bin', 'application/octet-stream', body.length);
    const upload = await created.json();
    expect((await fetch(upload.url, { method: upload.method, headers: upload.headers, body })).status).toBe(200);
    const completions = await Promise.all(
      [1, 2, 3, 4].map(async () => {
        const response = await complete(upload.artifactId);
        return { status: response.status, record: await response.json() };
      }),
    );
    for (const { status, record } of completions) {
      expect(status).toBe(200);
      expect(record).toMatchObject({ id: upload.artifactId, status: 'ready', size: body.length, sha256: sha(body) });
    }
    const content = await fetch(`${server.url}/artifacts/${upload.artifactId}/content`, { headers: viewer });
    expect(content.status).toBe(200);
    expect(sha(Buffer.from(await content.arrayBuffer()))).toBe(sha(body));
  });

  it('its signed URLs stop working once the artifact is deleted: no replayed upload, no download of new bytes', async () => {
    const body = Buffer.from('first bytes');
    const created = await askUpload('text', 'text/plain', body.length);
    const upload = await created.json();
    expect((await fetch(upload.url, { method: upload.method, headers: upload.headers, body })).status).toBe(200);
    expect((await complete(upload.artifactId)).status).toBe(200);
    const { url: downloadUrl } = await (await fetch(`${server.url}/artifacts/${upload.artifactId}/download-url`, { headers: editor })).json();
    expect((await fetch(downloadUrl)).status).toBe(200);

    expect((await fetch(`${server.url}/artifacts/${upload.artifactId}`, { method: 'DELETE', headers: editor })).status).toBe(204);
    // Both URLs are still within their lifetime and correctly signed.
    const replayed = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: Buffer.from('other bytes') });
    expect(replayed.status).toBe(404);
    expect((await fetch(downloadUrl)).status).toBe(404);
    expect(await readdir(server.storageRoot, { recursive: true })).not.toContainEqual(expect.stringContaining(upload.artifactId));
  });

  it('refuses a direct upload of a type not allowed (415) or over the limit (413) when it is asked for', async () => {
    const ask = (contentType: string, size: number) => askUpload('bin', contentType, size);
    const wrongType = await ask('application/x-msdownload', 10);
    expect(wrongType.status).toBe(415);
    expect((await wrongType.json()).code).toBe('E_CONTENT_TYPE_NOT_ALLOWED');
    const tooLarge = await ask('application/octet-stream', 10 * 1024 ** 4);
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).code).toBe('E_TOO_LARGE');
  });

  it('refuses a malformed direct upload request with every problem listed (400)', async () => {
    const bad = await fetch(`${server.url}/uploads`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'text', boardId: 'b1', size: '12', surprise: true }),
    });
    expect(bad.status).toBe(400);
    const body = await bad.json();
    expect(body.code).toBe('E_INVALID_ARGUMENT');
    expect(body.message).toMatch(/contentType/);
    expect(body.message).toMatch(/size/);
    expect(body.message).toMatch(/surprise/);
    const notJson = await fetch(`${server.url}/uploads`, { method: 'POST', headers: { ...editor, 'content-type': 'application/json' }, body: '{"type":' });
    expect(notJson.status).toBe(400);
  });

  it('answers a direct upload request that is not a flat JSON object with a 400, whoever asks', async () => {
    const boardEditor = { ...editor, 'content-type': 'application/json' };
    const nested = `{"type":"text","boardId":"b1","contentType":"text/plain","size":1,"x":${'['.repeat(3000)}${']'.repeat(3000)}}`;
    const cases: Array<[string, RequestInit, string, RegExp]> = [
      ['an array', { headers: boardEditor, body: '[]' }, 'E_INVALID_ARGUMENT', /JSON object/],
      ['an empty body', { headers: boardEditor, body: '' }, 'E_INVALID_ARGUMENT', /"type" is required/],
      ['an empty object', { headers: boardEditor, body: '{}' }, 'E_INVALID_ARGUMENT', /"type" is required/],
      ['text/plain', { headers: { ...editor, 'content-type': 'text/plain' }, body: JSON.stringify({ type: 'text', boardId: 'b1', contentType: 'text/plain', size: 1 }) }, 'E_INVALID_ARGUMENT', /JSON object/],
      ['3,000 nested arrays', { headers: boardEditor, body: nested }, 'E_INVALID_ARGUMENT', /"x" must be/],
      ['a __proto__ field', { headers: boardEditor, body: '{"type":"text","boardId":"b1","contentType":"text/plain","size":1,"__proto__":{"x":1}}' }, 'E_INVALID_ARGUMENT', /__proto__/],
      ['a constructor field', { headers: boardEditor, body: '{"type":"text","boardId":"b1","contentType":"text/plain","size":1,"constructor":"x"}' }, 'E_INVALID_ARGUMENT', /constructor/],
      ['not JSON', { headers: boardEditor, body: '{"type":' }, 'E_INVALID_ARGUMENT', /not valid JSON/],
      ['over 16 KB', { headers: boardEditor, body: JSON.stringify({ type: 'text', boardId: 'b1', contentType: 'text/plain', size: 1, pad: 'x'.repeat(17_000) }) }, 'E_TOO_LARGE', /limit/],
      ['an unknown charset', { headers: { ...editor, 'content-type': 'application/json; charset=latin-9' }, body: '{}' }, 'E_CONTENT_TYPE_NOT_ALLOWED', /charset/],
    ];
    const answers = await Promise.all(
      cases.map(async ([name, init]) => {
        const response = await fetch(`${server.url}/uploads`, { method: 'POST', ...init });
        return [name, response.status, await response.json()] as const;
      }),
    );
    for (const [index, [name, status, body]] of answers.entries()) {
      const [, , code, message] = cases[index];
      expect({ name, status, code: body.code }).toEqual({ name, status: code === 'E_INVALID_ARGUMENT' ? 400 : code === 'E_TOO_LARGE' ? 413 : 415, code });
      expect(body.message, name).toMatch(message);
    }
  });

  it('completing an upload whose bytes never arrived is a 404 and keeps it pending', async () => {
    const created = await askUpload('text', 'text/plain', 3);
    const upload = await created.json();
    const completed = await complete(upload.artifactId);
    expect(completed.status).toBe(404);
  });

  it('deletes an artifact (204), after which it is gone (404)', async () => {
    const created = await (await upload('to delete')).json();
    const denied = await fetch(`${server.url}/artifacts/${created.id}`, { method: 'DELETE', headers: viewer });
    expect(denied.status).toBe(403);
    const deleted = await fetch(`${server.url}/artifacts/${created.id}`, { method: 'DELETE', headers: editor });
    expect(deleted.status).toBe(204);
    const after = await fetch(`${server.url}/artifacts/${created.id}`, { headers: editor });
    expect(after.status).toBe(404);
    const files = await readdir(server.storageRoot, { recursive: true });
    expect(files.some((file) => String(file).includes(created.id))).toBe(false);
  });

  it('lists a board page by page without skipping or repeating', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await (await upload(`page ${i}`, 'text/plain', 'type=note&boardId=b1')).json()).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `type=note&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await (await fetch(`${server.url}/boards/b1/artifacts?${query}`, { headers: viewer })).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item: { id: string }) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(ids);
    expect([...seen]).toEqual([...seen].sort().reverse()); // newest first
  });

  describe('access', () => {
    it('401 without a token, with a bad signature, expired, or alg none', async () => {
      const created = await (await upload('secret')).json();
      const path = `${server.url}/artifacts/${created.id}`;
      expect((await fetch(path)).status).toBe(401);
      expect((await fetch(path, { headers: bearer({ sub: 'x', tenant: 't1', boards: { b1: 'editor' } }, { secret: 'wrong' }) })).status).toBe(401);
      expect((await fetch(path, { headers: bearer({ sub: 'x', tenant: 't1', boards: { b1: 'editor' } }, { expiresIn: -10 }) })).status).toBe(401);
      const none = signToken({ sub: 'x', tenant: 't1', boards: { b1: 'editor' } }, { header: { alg: 'none', typ: 'JWT' } }).split('.');
      expect((await fetch(path, { headers: { authorization: `Bearer ${none[0]}.${none[1]}.` } })).status).toBe(401);
    });

    it("404 for another board's or tenant's artifact, 403 for a viewer's write", async () => {
      const created = await (await upload('private')).json();
      expect((await fetch(`${server.url}/artifacts/${created.id}`, { headers: outsider })).status).toBe(404);
      expect((await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: otherTenant })).status).toBe(404);
      expect((await fetch(`${server.url}/artifacts/${created.id}/download-url`, { headers: otherTenant })).status).toBe(404);
      expect((await upload('nope', 'text/plain', 'type=text&boardId=b1', viewer)).status).toBe(403);
      expect((await upload('nope', 'text/plain', 'type=text&boardId=b1', outsider)).status).toBe(404);
      expect((await fetch(`${server.url}/boards/b1/artifacts`, { headers: outsider })).status).toBe(404);
    });
  });

  describe('refusals', () => {
    it('400 for invalid parameters, 415 for a content type not allowed, 413 for too large, 404 for missing', async () => {
      expect((await upload('x', 'text/plain', 'type=..%2Fetc&boardId=b1')).status).toBe(400);
      expect((await upload('x', 'text/plain', 'type=text&boardId=b1%2F..')).status).toBe(404); // no role on such a board
      expect((await upload('x', 'text/plain', 'boardId=b1')).status).toBe(400);
      const html = await upload('<html></html>', 'text/html');
      expect(html.status).toBe(415);
      expect(await html.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type', code: 'E_CONTENT_TYPE_NOT_ALLOWED' });
      const big = await upload(Buffer.alloc(10 * 1024 * 1024 + 1), 'application/octet-stream');
      expect(big.status).toBe(413);
      expect((await big.json()).code).toBe('E_TOO_LARGE');
      expect((await fetch(`${server.url}/artifacts/01a2aaaa-0000-7000-8000-000000000000`, { headers: editor })).status).toBe(404);
    });

    it('a refused or failed upload leaves no object and no pending record', async () => {
      await upload(Buffer.alloc(10 * 1024 * 1024 + 5), 'application/octet-stream');
      const files = (await readdir(server.storageRoot, { recursive: true, withFileTypes: true })).filter(
        (entry) => entry.isFile() && !entry.parentPath.includes('.boards-storage'),
      );
      const { ArtifactRegistry } = await import('@app/storage');
      const registry = server.app.get(ArtifactRegistry);
      const pending = await registry.repository.countBy({ status: 'pending' });
      const ready = await registry.repository.countBy({ status: 'ready' });
      expect(files.length).toBe(ready);
      // Only the direct upload that was never completed may be pending.
      expect(pending).toBe(1);
    });
  });
});
