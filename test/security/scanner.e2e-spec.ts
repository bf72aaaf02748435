import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentRejectedError, readAll, type ContentScanner, type ScanContext } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';
import { body, createUpload, editor, postArtifact, startSecurityServer, storedObjects, type SecurityServer } from './support.js';

const MARKER = 'X5O!P%@AP-BOARDS-TEST-MARKER';

/** A stand-in for a malware scanner: rejects any body containing the marker. */
@Injectable()
class MarkerScanner implements ContentScanner {
  readonly scanned: string[] = [];
  async scan(context: ScanContext): Promise<void> {
    this.scanned.push(context.artifactId);
    const bytes = await readAll(await context.open(), 1024 * 1024);
    if (bytes.includes(MARKER)) throw new ContentRejectedError('The content scanner rejected this artifact', { details: { scanner: 'marker' } });
  }
}

describe('content scanning hook', () => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dir = await tempDir('boards-scanner-');
    server = await startSecurityServer({ dir: dir.path, scanners: [MarkerScanner] });
  });
  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('POST /artifacts: a rejected body is 422 and leaves no object and no record; a clean one is stored', async () => {
    const rows = await server.registry.repository.count();
    const rejected = await postArtifact(server, `prefix ${MARKER} suffix`, 'text/plain');
    expect(rejected.status).toBe(422);
    expect(await rejected.json()).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', code: 'E_CONTENT_REJECTED' });
    expect(await storedObjects(dir.path)).toEqual([]);
    expect(await server.registry.repository.count()).toBe(rows);

    const clean = await postArtifact(server, 'nothing to see', 'text/plain');
    expect(clean.status).toBe(201);
    const { id } = await clean.json();
    expect(server.app.get(MarkerScanner).scanned).toContain(id);
  });

  it('direct upload: completion runs the scanner; a rejection is 422 and removes bytes and record', async () => {
    const data = Buffer.from(`${MARKER} uploaded directly`);
    const { upload } = await createUpload(server, 'text/plain', data.length);
    expect((await fetch(upload!.url, { method: 'PUT', headers: upload!.headers, body: body(data) })).status).toBe(200);
    const completed = await fetch(`${server.url}/uploads/${upload!.artifactId}/complete`, { method: 'POST', headers: editor });
    expect(completed.status).toBe(422);
    expect((await completed.json()).code).toBe('E_CONTENT_REJECTED');
    expect((await storedObjects(dir.path)).some((file) => file.includes(upload!.artifactId))).toBe(false);
    expect(await server.registry.findById(upload!.artifactId)).toBeNull();
    expect((await fetch(`${server.url}/artifacts/${upload!.artifactId}`, { headers: editor })).status).toBe(404);
  });
});
