import { readdir } from 'node:fs/promises';
import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ArtifactRegistry, StorageAuditLog, type ContentScanner, type StorageAuditEvent, type StorageModuleOptions } from '@app/storage';
import { createServer } from '../../src/bootstrap.js';
import { loadSettings } from '../../src/settings.js';
import { TEST_JWT_SECRET, bearer } from '../support/tokens.js';

export const SIGNING_SECRET = 'a-test-signing-secret-0123456789';

export interface SecurityServer {
  app: NestExpressApplication;
  url: string;
  close: () => Promise<void>;
  registry: ArtifactRegistry;
  audit: StorageAuditLog;
}

export interface SecurityServerOptions {
  /** Folder for the storage root (`<dir>/storage`) and SQLite file; kept across restarts. */
  dir: string;
  databaseUrl?: string;
  /** The local provider's `config` beyond base_path (default: one signing secret). */
  localConfig?: Record<string, unknown>;
  /** Top-level storage options merged over the defaults (content_validation, limits...). */
  storage?: Partial<StorageModuleOptions>;
  scanners?: Type<ContentScanner>[];
  env?: Record<string, string>;
}

export const storageRootOf = (dir: string) => `${dir}/storage`;

/**
 * The reference server on port 0, with the storage root and database in `dir` so a test can
 * stop it and start it again on the same data (key rotation). The rate limit is off unless a
 * test sets UPLOAD_RATE_LIMIT.
 */
export async function startSecurityServer(options: SecurityServerOptions): Promise<SecurityServer> {
  const settings = loadSettings({
    BOARDS_JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${options.dir}/boards.sqlite`,
    PORT: '0',
    UPLOAD_RATE_LIMIT: '0',
    ...options.env,
  });
  const storage: StorageModuleOptions = {
    defaultProvider: 'local',
    providers: {
      local: { type: 'local', config: { base_path: storageRootOf(options.dir), ...(options.localConfig ?? { signing_secret: SIGNING_SECRET }) } },
    },
    maxFileSize: '10MB',
    ...options.storage,
  };
  const app = await createServer({ settings, storage, scanners: options.scanners, logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    close: () => app.close(),
    registry: app.get(ArtifactRegistry),
    audit: app.get(StorageAuditLog),
  };
}

/** Files under the storage root, the provider's internal folder (temp files, sidecars) included. */
export async function storedFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(storageRootOf(dir), { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => `${entry.parentPath}/${entry.name}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Data files only (not the provider's metadata sidecars). */
export async function storedObjects(dir: string): Promise<string[]> {
  return (await storedFiles(dir)).filter((file) => !file.includes('/.boards-storage/meta'));
}

export const editor = bearer({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' }, global: 'editor' });
export const viewer = bearer({ sub: 'bob', tenant: 't1', boards: { b1: 'viewer' } });

/** A fetch body (an ArrayBuffer-backed copy, as the DOM types want). */
export function body(data: Buffer | string): Uint8Array<ArrayBuffer> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const out = new Uint8Array(new ArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

/** POST /artifacts with a raw body. */
export function postArtifact(
  server: { url: string },
  data: Buffer | string,
  contentType: string,
  { query = 'type=test&boardId=b1', headers = editor }: { query?: string; headers?: Record<string, string> } = {},
) {
  return fetch(`${server.url}/artifacts?${query}`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body: body(data) });
}

/** POST /uploads: a direct upload of `size` bytes of `contentType`. */
export async function createUpload(server: { url: string }, contentType: string, size: number, headers = editor, boardId: string | null = 'b1') {
  const response = await fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'test', ...(boardId ? { boardId } : {}), contentType, size }),
  });
  return { response, upload: response.status === 201 ? ((await response.json()) as { artifactId: string; url: string; method: string; headers: Record<string, string> }) : undefined };
}

/** Polls the audit trail until `predicate` holds (events are written as responses close). */
export async function auditEventually(
  audit: StorageAuditLog,
  artifactId: string,
  predicate: (events: StorageAuditEvent[]) => boolean,
  attempts = 100,
): Promise<StorageAuditEvent[]> {
  let events: StorageAuditEvent[] = [];
  for (let i = 0; i < attempts; i++) {
    events = (await audit.findByArtifact(artifactId, { limit: 500 })).items;
    if (predicate(events)) return events;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return events;
}
