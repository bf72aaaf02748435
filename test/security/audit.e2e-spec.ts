import { connect } from 'node:net';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_ENTITIES, STORAGE_MIGRATIONS, type StorageAuditEvent } from '@app/storage';
import { databaseOptions } from '../../src/database/database-options.js';
import { DATABASE_KINDS, databaseUrlFor } from '../support/databases.js';
import { tempDir } from '../support/temp-dir.js';
import { bearer } from '../support/tokens.js';
import { auditEventually, body, createUpload, editor, postArtifact, startSecurityServer, viewer, type SecurityServer } from './support.js';

const otherTenant = bearer({ sub: 'dave', tenant: 't2', boards: { '*': 'editor' }, global: 'editor' });

/** The events of an artifact as `action outcome status code principal`, oldest first. */
const summary = (events: StorageAuditEvent[]) =>
  [...events].reverse().map((e) => `${e.action} ${e.outcome} ${e.statusCode} ${e.errorCode ?? '-'} ${e.principalId ?? '-'}`);

describe.each(DATABASE_KINDS)('audit trail on %s', (kind) => {
  let server: SecurityServer;
  let dir: { path: string; remove: () => Promise<void> };
  let drop: () => Promise<void>;
  let databaseUrl: string;

  beforeAll(async () => {
    dir = await tempDir('boards-audit-');
    ({ url: databaseUrl, drop } = await databaseUrlFor(kind, dir.path));
    server = await startSecurityServer({ dir: dir.path, databaseUrl });
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
    await dir?.remove();
  });

  it('the migration creates exactly what the entity describes', async () => {
    const dataSource = new DataSource({ ...databaseOptions(databaseUrl), migrationsRun: false });
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query).filter((q) => q.includes('storage_audit_events'))).toEqual([]);
      expect(STORAGE_MIGRATIONS.some((m) => m.name === 'CreateStorageAuditEvents1764480001000')).toBe(true);
      expect(STORAGE_ENTITIES.some((e) => e.name === 'StorageAuditEvent')).toBe(true);
    } finally {
      await dataSource.destroy();
    }
  });

  it('records stores, reads, URL issues and uses, deletes and every denial, with who, what, outcome and where from', async () => {
    const created = await (await postArtifact(server, 'audited bytes', 'text/plain')).json();
    const id: string = created.id;
    expect((await fetch(`${server.url}/artifacts/${id}/content`, { headers: viewer })).status).toBe(200);
    const { url } = await (await fetch(`${server.url}/artifacts/${id}/download-url`, { headers: editor })).json();
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url.replace(/X-Boards-Signature=[^&]+/, 'X-Boards-Signature=AAAA'))).status).toBe(403);
    expect((await fetch(`${server.url}/artifacts/${id}`, { method: 'DELETE', headers: viewer })).status).toBe(403);
    expect((await fetch(`${server.url}/artifacts/${id}/content`, { headers: otherTenant })).status).toBe(404);
    expect((await fetch(`${server.url}/artifacts/${id}/content`)).status).toBe(401);
    expect((await fetch(`${server.url}/artifacts/${id}`, { method: 'DELETE', headers: editor })).status).toBe(204);

    const events = await auditEventually(server.audit, id, (list) => list.length >= 9);
    expect(summary(events)).toEqual([
      'artifact.store success 201 - alice',
      'artifact.content success 200 - bob',
      'artifact.download_url success 200 - alice',
      'signed_url.download success 200 - -',
      'signed_url.download denied 403 E_INVALID_SIGNATURE -',
      'artifact.delete denied 403 E_ACCESS_DENIED bob',
      'artifact.content denied 404 E_NOT_FOUND dave',
      'artifact.content denied 401 E_UNAUTHENTICATED -',
      'artifact.delete success 204 - alice',
    ]);
    for (const event of events) {
      expect(event.artifactId).toBe(id);
      expect(event.clientAddress).toMatch(/127\.0\.0\.1/);
      expect(Math.abs(event.occurredAt.getTime() - Date.now())).toBeLessThan(5 * 60_000);
      expect(event.path).not.toContain('?');
    }
    expect(events.find((e) => e.principalId === 'dave')?.tenant).toBe('t2');
    expect(events.find((e) => e.action === 'artifact.store')?.boardId).toBe('b1');
  });

  it('records a direct upload and a refused one, and answers by principal', async () => {
    const data = Buffer.from('direct');
    const { upload } = await createUpload(server, 'text/plain', data.length);
    await fetch(upload!.url, { method: 'PUT', headers: upload!.headers, body: body(data) });
    await fetch(`${server.url}/uploads/${upload!.artifactId}/complete`, { method: 'POST', headers: editor });
    const refused = await createUpload(server, 'text/plain', 1, viewer);
    expect(refused.response.status).toBe(403);

    const events = await auditEventually(server.audit, upload!.artifactId, (list) => list.length >= 3);
    expect(summary(events)).toEqual(['upload.create success 201 - alice', 'signed_url.upload success 200 - -', 'upload.complete success 200 - alice']);
    const bob = (await server.audit.findByPrincipal('bob', { limit: 500 })).items;
    expect(bob.some((e) => e.action === 'upload.create' && e.outcome === 'denied' && e.errorCode === 'E_ACCESS_DENIED' && e.boardId === 'b1')).toBe(true);
  });

  it('records a download the client abandoned as aborted', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const id = (await (await postArtifact(server, big, 'application/octet-stream')).json()).id;
    const controller = new AbortController();
    const response = await fetch(`${server.url}/artifacts/${id}/content`, { headers: viewer, signal: controller.signal });
    await response.body!.getReader().read();
    controller.abort();
    const events = await auditEventually(server.audit, id, (list) => list.some((e) => e.action === 'artifact.content'));
    expect(events.find((e) => e.action === 'artifact.content')).toMatchObject({ outcome: 'error', errorCode: 'E_ABORTED', principalId: 'bob' });
  });

  it('records complete downloads as successes even when the client closes at once, and an abandoned upload without a status', async () => {
    const id = (await (await postArtifact(server, 'twenty-six bytes of text!!', 'text/plain')).json()).id;
    const port = new URL(server.url).port;
    const token = viewer.authorization;
    /** One GET on its own connection, closed the moment the whole answer has arrived. */
    const getAndClose = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let received = '';
        socket.on('data', (chunk) => {
          received += chunk.toString('latin1');
          const [head, rest] = received.split('\r\n\r\n');
          const length = /content-length: (\d+)/i.exec(head ?? '');
          if (rest !== undefined && length && rest.length >= Number(length[1])) {
            socket.destroy();
            resolve(head.split('\r\n')[0]);
          }
        });
        socket.on('error', reject);
        socket.write(`GET /artifacts/${id}/content HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\n\r\n`);
      });
    const statusLines = [];
    for (let i = 0; i < 30; i++) statusLines.push(await getAndClose());
    expect(new Set(statusLines)).toEqual(new Set(['HTTP/1.1 200 OK']));
    const events = await auditEventually(server.audit, id, (list) => list.filter((e) => e.action === 'artifact.content').length >= 30);
    const reads = events.filter((e) => e.action === 'artifact.content');
    expect(reads.map((e) => `${e.outcome} ${e.statusCode} ${e.errorCode ?? '-'}`)).toEqual(Array(30).fill('success 200 -'));

    const uploader = bearer({ sub: 'quitter', tenant: 't1', boards: { b1: 'editor' } });
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /artifacts?type=text&boardId=b1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${uploader.authorization}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\npartial`);
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    let quitter: StorageAuditEvent[] = [];
    for (let i = 0; i < 100 && quitter.length === 0; i++) {
      quitter = (await server.audit.findByPrincipal('quitter', { limit: 10 })).items;
      if (quitter.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(quitter.map((e) => `${e.action} ${e.outcome} ${e.statusCode} ${e.errorCode}`)).toEqual(['artifact.store error null E_ABORTED']);
  });

  it('pages newest first with a cursor', async () => {
    const id = (await (await postArtifact(server, 'paged', 'text/plain')).json()).id;
    for (let i = 0; i < 4; i++) await fetch(`${server.url}/artifacts/${id}/content`, { headers: viewer });
    await auditEventually(server.audit, id, (list) => list.length >= 5);
    const first = await server.audit.findByArtifact(id, { limit: 3 });
    const second = await server.audit.findByArtifact(id, { limit: 3, cursor: first.cursor });
    expect(first.items).toHaveLength(3);
    expect(second.items).toHaveLength(2);
    expect(second.cursor).toBeUndefined();
    const ids = [...first.items, ...second.items].map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(second.items.at(-1)?.action).toBe('artifact.store');
  });

  it('GET /artifacts/:id/audit: editors see their tenant\'s events, viewers get 403', async () => {
    const id = (await (await postArtifact(server, 'watched', 'text/plain')).json()).id;
    await fetch(`${server.url}/artifacts/${id}/content`, { headers: otherTenant });
    await fetch(`${server.url}/artifacts/${id}/content`, { headers: viewer });
    await auditEventually(server.audit, id, (list) => list.length >= 3);
    const forbidden = await fetch(`${server.url}/artifacts/${id}/audit`, { headers: viewer });
    expect(forbidden.status).toBe(403);
    const response = await fetch(`${server.url}/artifacts/${id}/audit`, { headers: editor });
    expect(response.status).toBe(200);
    const { items, nextCursor } = await response.json();
    expect(nextCursor).toBeNull();
    for (const limit of ['0x10', '1e2', '2.0', ' 5', '0', '501']) {
      const refused = await fetch(`${server.url}/artifacts/${id}/audit?limit=${encodeURIComponent(limit)}`, { headers: editor });
      expect({ limit, status: refused.status }).toEqual({ limit, status: 400 });
    }
    expect((await (await fetch(`${server.url}/artifacts/${id}/audit?limit=1`, { headers: editor })).json()).items).toHaveLength(1);
    // Newest first; dave (another tenant) is left out; bob's refused look at the trail is in it.
    expect(items.map((e: { action: string; outcome: string; principalId: string }) => `${e.action} ${e.outcome} ${e.principalId}`)).toEqual([
      'artifact.audit denied bob',
      'artifact.content success bob',
      'artifact.store success alice',
    ]);
    expect(items[1]).toMatchObject({ outcome: 'success', statusCode: 200, artifactId: id, method: 'GET', path: `/artifacts/${id}/content` });
    // Operators (the library's StorageAuditLog, no tenant filter) also see the other tenant's probe.
    const all = await auditEventually(server.audit, id, (list) => list.some((e) => e.action === 'artifact.audit' && e.principalId === 'alice'));
    expect(all.some((e) => e.principalId === 'dave' && e.outcome === 'denied' && e.statusCode === 404)).toBe(true);
  });
});
