import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, databaseUrlFor } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { bearer } from '../support/tokens.js';

const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });

/**
 * Values that fit the key rules but not a registry column, or that a database refuses outright
 * (PostgreSQL rejects a NUL byte in text), are client errors on every database: 400 or 404,
 * never a 500 from the query.
 */
describe.each(DATABASE_KINDS)('reference server on %s: values the registry cannot hold', (kind) => {
  let server: TestServer;
  let drop: () => Promise<void> = async () => {};
  let artifactId: string;

  beforeAll(async () => {
    const dir = await tempDir();
    const database = await databaseUrlFor(kind, dir.path);
    drop = async () => {
      await database.drop();
      await dir.remove();
    };
    server = await startTestServer({ databaseUrl: database.url });
    const stored = await fetch(`${server.url}/artifacts?type=text&boardId=b1`, { method: 'POST', headers: { ...editor, 'content-type': 'text/plain' }, body: 'x' });
    artifactId = (await stored.json()).id;
  });
  afterAll(async () => {
    await server?.close();
    await drop();
  });

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...editor, ...(body === undefined ? { 'content-type': 'text/plain' } : { 'content-type': 'application/json' }) },
      body: body === undefined ? (method === 'POST' ? 'x' : undefined) : JSON.stringify(body),
    });

  it('an artifact type longer than its 64-character column is a 400 on both upload paths', async () => {
    const type = 't'.repeat(65);
    const posted = await call('POST', `/artifacts?type=${type}&boardId=b1`);
    expect(posted.status).toBe(400);
    expect((await posted.json()).message).toContain('1-64');
    const asked = await call('POST', '/uploads', { type, boardId: 'b1', contentType: 'text/plain', size: 1 });
    expect(asked.status).toBe(400);
    expect((await call('POST', `/artifacts?type=${'t'.repeat(64)}&boardId=b1`)).status).toBe(201);
  });

  it('an id with a NUL byte, or longer than an id, is not found on every route', async () => {
    for (const id of ['%00', 'a%00b', 'x'.repeat(37)]) {
      for (const [method, path] of [
        ['GET', `/artifacts/${id}`],
        ['GET', `/artifacts/${id}/content`],
        ['GET', `/artifacts/${id}/download-url`],
        ['GET', `/artifacts/${id}/audit`],
        ['DELETE', `/artifacts/${id}`],
        ['POST', `/uploads/${id}/complete`],
      ]) {
        const response = await fetch(`${server.url}${path}`, { method, headers: editor });
        expect(response.status, `${method} ${path}`).toBe(404);
      }
    }
  });

  it('a cursor that decodes to a NUL byte is a 400 on the board listing and the audit trail', async () => {
    const nul = Buffer.from('\u0000').toString('base64url');
    expect((await call('GET', `/boards/b1/artifacts?cursor=${nul}`)).status).toBe(400);
    expect((await call('GET', `/artifacts/${artifactId}/audit?cursor=${nul}`)).status).toBe(400);
    expect((await call('GET', `/artifacts/${artifactId}/audit`)).status).toBe(200);
  });
});
