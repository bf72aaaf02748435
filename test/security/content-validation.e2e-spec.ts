import type { Response as ExpressResponse } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyContentHeaders } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';
import { HTML, SCRIPT, SVG, XML, elf, pe, png, safetensors, torchCheckpoint, validSafetensors } from './fixtures.js';
import { body, createUpload, editor, postArtifact, startSecurityServer, storedObjects, viewer, type SecurityServer } from './support.js';

describe('content validation in the reference server', () => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dir = await tempDir('boards-content-');
    server = await startSecurityServer({ dir: dir.path });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  /** Asserts a refusal with 415 E_CONTENT_MISMATCH that stored nothing and left no record behind. */
  async function expectRefusedLeavingNothing(send: () => Promise<Response>) {
    const objects = (await storedObjects(dir.path)).sort();
    const rows = await server.registry.repository.count();
    const response = await send();
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ statusCode: 415, code: 'E_CONTENT_MISMATCH' });
    expect((await storedObjects(dir.path)).sort()).toEqual(objects);
    expect(await server.registry.repository.count()).toBe(rows);
  }

  it('stores bodies that are what they declare', async () => {
    expect((await postArtifact(server, png(), 'image/png')).status).toBe(201);
    expect((await postArtifact(server, 'plain words, ünïcödé', 'text/plain; charset=utf-8')).status).toBe(201);
    expect((await postArtifact(server, JSON.stringify({ prompt: 'x'.repeat(200_000), seed: 42 }), 'application/json')).status).toBe(201);
    expect((await postArtifact(server, validSafetensors(), 'application/octet-stream', { query: 'type=model' })).status).toBe(201);
  });

  it('refuses a PNG declared video/mp4, HTML or an executable declared image/png, before storing', async () => {
    await expectRefusedLeavingNothing(() => postArtifact(server, png(), 'video/mp4'));
    await expectRefusedLeavingNothing(() => postArtifact(server, HTML, 'image/png'));
    await expectRefusedLeavingNothing(() => postArtifact(server, SVG, 'image/png'));
    await expectRefusedLeavingNothing(() => postArtifact(server, elf(), 'image/png'));
    await expectRefusedLeavingNothing(() => postArtifact(server, pe(), 'application/octet-stream'));
    await expectRefusedLeavingNothing(() => postArtifact(server, SCRIPT, 'application/octet-stream'));
  });

  it('refuses text that is not UTF-8 and JSON that does not parse, even when the flaw comes late', async () => {
    const lateFlaw = Buffer.concat([Buffer.alloc(200_000, 0x61), Buffer.from([0xc3, 0x28])]);
    await expectRefusedLeavingNothing(() => postArtifact(server, lateFlaw, 'text/plain'));
    await expectRefusedLeavingNothing(() => postArtifact(server, `{"items":[${'1,'.repeat(100_000)}]`, 'application/json'));
    await expectRefusedLeavingNothing(() => postArtifact(server, '{"a":1} trailing', 'application/json'));
  });

  it('refuses pickles and broken safetensors, sent raw or as a multipart file', async () => {
    await expectRefusedLeavingNothing(() => postArtifact(server, torchCheckpoint(), 'application/octet-stream', { query: 'type=model' }));
    const lying = safetensors({ w: { dtype: 'F32', shape: [1000], data_offsets: [0, 4000] } }, Buffer.alloc(16));
    await expectRefusedLeavingNothing(() => postArtifact(server, lying, 'application/octet-stream', { query: 'type=model' }));
    await expectRefusedLeavingNothing(() => {
      const form = new FormData();
      form.append('file', new Blob([body(Buffer.from('{"not":"a safetensors file"}'))], { type: 'application/octet-stream' }), 'weights.safetensors');
      return fetch(`${server.url}/artifacts?type=model`, { method: 'POST', headers: editor, body: form });
    });
  });

  it('checks direct uploads at completion: a mismatch removes the bytes and the record', async () => {
    const bytes = png();
    const { upload } = await createUpload(server, 'video/mp4', bytes.length);
    expect((await fetch(upload!.url, { method: 'PUT', headers: upload!.headers, body: body(bytes) })).status).toBe(200);
    expect((await storedObjects(dir.path)).some((file) => file.includes(upload!.artifactId))).toBe(true);
    const completed = await fetch(`${server.url}/uploads/${upload!.artifactId}/complete`, { method: 'POST', headers: editor });
    expect(completed.status).toBe(415);
    expect((await completed.json()).code).toBe('E_CONTENT_MISMATCH');
    expect((await storedObjects(dir.path)).some((file) => file.includes(upload!.artifactId))).toBe(false);
    expect(await server.registry.findById(upload!.artifactId)).toBeNull();
  });

  it('serves markup stored as octet-stream only as a nosniff, sandboxed attachment (API and signed URL)', async () => {
    for (const markup of [HTML, SVG, XML]) {
      const created = await (await postArtifact(server, markup, 'application/octet-stream')).json();
      const direct = await fetch(`${server.url}/artifacts/${created.id}/content`, { headers: viewer });
      const { url } = await (await fetch(`${server.url}/artifacts/${created.id}/download-url`, { headers: viewer })).json();
      const signed = await fetch(url);
      for (const response of [direct, signed]) {
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/octet-stream');
        expect(response.headers.get('content-disposition')).toMatch(/^attachment/);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('content-security-policy')).toContain('sandbox');
        expect(Buffer.from(await response.arrayBuffer())).toEqual(markup);
      }
    }
  });

  it('serves images and plain text inline, still with nosniff', async () => {
    const image = await (await postArtifact(server, png(), 'image/png')).json();
    const text = await (await postArtifact(server, 'inline text', 'text/plain')).json();
    for (const id of [image.id, text.id]) {
      const response = await fetch(`${server.url}/artifacts/${id}/content`, { headers: viewer });
      expect(response.headers.get('content-disposition')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});

describe('applyContentHeaders', () => {
  function headersFor(contentType: string, filename?: string): Record<string, string> {
    const headers: Record<string, string> = {};
    const response = {
      status: () => response,
      setHeader: (name: string, value: string) => {
        headers[name.toLowerCase()] = value;
      },
    } as unknown as ExpressResponse;
    applyContentHeaders(response, { contentType, contentLength: 1, filename });
    return headers;
  }

  it('makes anything a browser could run an attachment, whatever the allow-list says', () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/xml', 'text/xml', 'application/xhtml+xml', 'application/javascript', 'text/javascript', 'application/pdf', 'application/octet-stream']) {
      const headers = headersFor(type, 'name.bin');
      expect(headers['content-disposition'], type).toMatch(/^attachment/);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headersFor(type)['content-disposition'], type).toBe('attachment');
    }
    for (const type of ['image/png', 'image/jpeg', 'video/mp4', 'audio/mpeg', 'text/plain', 'application/json']) {
      expect(headersFor(type)['content-disposition'], type).toBeUndefined();
      // A file name asks for a download (the presignDownload contract).
      expect(headersFor(type, 'a.png')['content-disposition'], type).toMatch(/^attachment; filename="a.png"/);
    }
  });

  it('keeps a hostile file name from breaking the header', () => {
    const disposition = headersFor('text/html', 'a"; x=\r\n.html')['content-disposition'];
    expect(disposition).not.toMatch(/[\r\n]/);
    expect(disposition).toMatch(/^attachment; filename="a_; x=__.html"; filename\*=UTF-8''/);
  });
});
