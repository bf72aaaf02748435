import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentRejectedError, ProviderUnavailableError, StorageError, readAll, type ContentScanner, type ScanContext } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';
import { body, createUpload, editor, postArtifact, startSecurityServer, storedObjects, type SecurityServer } from './support.js';

const MARKER = 'X5O!P%@AP-BOARDS-TEST-MARKER';
/** Rejected with a plain StorageError, as a scanner of one's own may do. */
const OTHER_MARKER = 'BOARDS-TEST-OTHER-VERDICT';
/** The scanning service is unavailable the first time it sees this. */
const BUSY_MARKER = 'BOARDS-TEST-SCANNER-BUSY';

/** A stand-in for a malware scanner: rejects any body containing a marker. */
@Injectable()
class MarkerScanner implements ContentScanner {
  readonly scanned: string[] = [];
  async scan(context: ScanContext): Promise<void> {
    this.scanned.push(context.artifactId);
    const bytes = await readAll(await context.open(), 1024 * 1024);
    if (bytes.includes(MARKER)) throw new ContentRejectedError('The content scanner rejected this artifact', { details: { scanner: 'marker' } });
    if (bytes.includes(OTHER_MARKER)) throw new StorageError('EICAR test signature found');
    if (bytes.includes(BUSY_MARKER) && this.scanned.filter((id) => id === context.artifactId).length === 1) {
      throw new ProviderUnavailableError('The scanning service is busy');
    }
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

  it('direct upload: any error a scanner throws rejects it, unless it is transient, which leaves it to be completed again', async () => {
    const complete = (id: string) => fetch(`${server.url}/uploads/${id}/complete`, { method: 'POST', headers: editor });

    const rejected = Buffer.from(`${OTHER_MARKER} uploaded directly`);
    const first = (await createUpload(server, 'text/plain', rejected.length)).upload!;
    expect((await fetch(first.url, { method: 'PUT', headers: first.headers, body: body(rejected) })).status).toBe(200);
    expect((await complete(first.artifactId)).status).toBe(500);
    expect(await server.registry.findById(first.artifactId)).toBeNull();
    expect((await storedObjects(dir.path)).some((file) => file.includes(first.artifactId))).toBe(false);

    const busy = Buffer.from(`${BUSY_MARKER} uploaded directly`);
    const second = (await createUpload(server, 'text/plain', busy.length)).upload!;
    expect((await fetch(second.url, { method: 'PUT', headers: second.headers, body: body(busy) })).status).toBe(200);
    expect((await complete(second.artifactId)).status).toBe(503);
    expect((await server.registry.findById(second.artifactId))?.status).toBe('pending');
    const again = await complete(second.artifactId);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: second.artifactId, status: 'ready', size: busy.length });
  });
});
